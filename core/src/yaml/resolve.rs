//! PyYAML's YAML 1.1 implicit resolvers (`yaml/resolver.py`), used by the
//! loader to tag plain scalars and by the dumper to decide whether a string
//! must be quoted.
//!
//! Python's `re.match(r'^...$')` also matches before one trailing newline;
//! every pattern here ends in `\n?\z` to keep that.

use regex::Regex;
use std::sync::OnceLock;

pub(crate) const TAG_NULL: &str = "tag:yaml.org,2002:null";
pub(crate) const TAG_BOOL: &str = "tag:yaml.org,2002:bool";
pub(crate) const TAG_INT: &str = "tag:yaml.org,2002:int";
pub(crate) const TAG_FLOAT: &str = "tag:yaml.org,2002:float";
pub(crate) const TAG_STR: &str = "tag:yaml.org,2002:str";
pub(crate) const TAG_BINARY: &str = "tag:yaml.org,2002:binary";
pub(crate) const TAG_TIMESTAMP: &str = "tag:yaml.org,2002:timestamp";
pub(crate) const TAG_MERGE: &str = "tag:yaml.org,2002:merge";
pub(crate) const TAG_VALUE: &str = "tag:yaml.org,2002:value";
pub(crate) const TAG_YAML: &str = "tag:yaml.org,2002:yaml";
pub(crate) const TAG_SEQ: &str = "tag:yaml.org,2002:seq";
pub(crate) const TAG_MAP: &str = "tag:yaml.org,2002:map";
pub(crate) const TAG_OMAP: &str = "tag:yaml.org,2002:omap";
pub(crate) const TAG_PAIRS: &str = "tag:yaml.org,2002:pairs";
pub(crate) const TAG_SET: &str = "tag:yaml.org,2002:set";
pub(crate) const TAG_PY_UNICODE: &str = "tag:yaml.org,2002:python/unicode";

struct Resolver {
    tag: &'static str,
    first: &'static str,
    /// Whether the empty string is in the resolver's first-character list.
    empty: bool,
    re: Regex,
}

fn resolvers() -> &'static [Resolver] {
    static R: OnceLock<Vec<Resolver>> = OnceLock::new();
    R.get_or_init(|| {
        let mk = |tag, first, empty, pat: &str| Resolver {
            tag,
            first,
            empty,
            // The patterns are constants; a failure here is a programming error.
            re: Regex::new(&format!(r"\A(?:{pat})\n?\z")).expect("resolver regex"),
        };
        vec![
            mk(
                TAG_BOOL,
                "yYnNtTfFoO",
                false,
                "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            ),
            mk(
                TAG_FLOAT,
                "-+0123456789.",
                false,
                r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
            ),
            mk(
                TAG_INT,
                "-+0123456789",
                false,
                r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
            ),
            mk(TAG_MERGE, "<", false, "<<"),
            mk(TAG_NULL, "~nN", true, "~|null|Null|NULL|"),
            mk(
                TAG_TIMESTAMP,
                "0123456789",
                false,
                r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
            ),
            mk(TAG_VALUE, "=", false, "="),
            mk(TAG_YAML, "!&*", false, r"!|&|\*"),
        ]
    })
}

/// `Resolver.resolve(ScalarNode, value, (True, _))`: the implicit tag of a
/// plain scalar (`tag:yaml.org,2002:str` when nothing matches).
pub(crate) fn resolve_plain(value: &str) -> &'static str {
    let first = value.chars().next();
    // Most plain scalars in state files are words and paths: only values
    // starting with a sign, digit or dot can be numbers or timestamps, and
    // the other resolvers match a handful of exact words (compared here
    // without their regexes, which give the same answers).
    if !matches!(first, Some('-' | '+' | '.' | '0'..='9')) {
        if value.is_empty() {
            return TAG_NULL;
        }
        // A lone newline starts with no resolver's first character.
        let word = value.strip_suffix('\n').unwrap_or(value);
        return match word {
            "yes" | "Yes" | "YES" | "no" | "No" | "NO" | "true" | "True" | "TRUE" | "false"
            | "False" | "FALSE" | "on" | "On" | "ON" | "off" | "Off" | "OFF" => TAG_BOOL,
            "<<" => TAG_MERGE,
            "~" | "null" | "Null" | "NULL" => TAG_NULL,
            "=" => TAG_VALUE,
            "!" | "&" | "*" => TAG_YAML,
            _ => TAG_STR,
        };
    }
    resolve_by_regex(value)
}

/// PyYAML's resolution proper: the first resolver whose first characters
/// and regex match.
fn resolve_by_regex(value: &str) -> &'static str {
    let first = value.chars().next();
    for r in resolvers() {
        let applies = match first {
            None => r.empty,
            Some(c) => r.first.contains(c),
        };
        if applies && r.re.is_match(value) {
            return r.tag;
        }
    }
    TAG_STR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_fast_path_agrees_with_the_regexes() {
        let words = [
            "", "\n", "~", "~\n", "null", "Null", "NULL", "nULL", "null\n", "null\n\n", "yes",
            "Yes", "YES", "yEs", "no", "No", "NO", "nO", "n", "y", "true", "True", "TRUE", "tRUE",
            "false", "False", "FALSE", "on", "On", "ON", "oN", "off", "Off", "OFF", "oFF", "<<",
            "<<\n", "<", "<<<", "=", "==", "!", "&", "*", "!!", "*a", "&a", "file", "name", "/etc",
            "salt://a", "a b", " yes", "yes ", "Yes\n", "on\n", "\nyes", "NaN", "Infinity", "é",
            "ø\n", "x\n",
        ];
        for w in words {
            assert_eq!(resolve_plain(w), resolve_by_regex(w), "{w:?}");
        }
    }

    #[test]
    fn resolves_like_pyyaml() {
        for (v, t) in [
            ("yes", TAG_BOOL),
            ("y", TAG_STR),
            ("", TAG_NULL),
            ("~", TAG_NULL),
            ("0644", TAG_INT),
            ("08", TAG_STR),
            ("1e3", TAG_STR),
            ("1.0e+3", TAG_FLOAT),
            ("2016-06-06", TAG_TIMESTAMP),
            ("2001-12-14 21:59:43.10 -5", TAG_TIMESTAMP),
            ("<<", TAG_MERGE),
            ("=", TAG_VALUE),
            ("190:20:30", TAG_INT),
            ("yes\n", TAG_BOOL),
            ("\n", TAG_STR),
            ("~\n", TAG_NULL),
            ("Off", TAG_BOOL),
            ("oN", TAG_STR),
            ("nullx", TAG_STR),
            ("<<\n", TAG_MERGE),
            ("*", TAG_YAML),
            ("file", TAG_STR),
            ("-", TAG_STR),
            ("-1", TAG_INT),
            ("+.5", TAG_STR),
            ("+1.5", TAG_FLOAT),
            (".inf", TAG_FLOAT),
            ("1:20", TAG_INT),
        ] {
            assert_eq!(resolve_plain(v), t, "{v:?}");
        }
    }
}
