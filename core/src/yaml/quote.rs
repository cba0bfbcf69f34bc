//! Salt's `yaml_dquote`, `yaml_squote` and `yaml_encode` Jinja filters
//! (`salt/utils/yamlencoding.py`).
//!
//! The quoting filters call PyYAML's pure-Python `Emitter.write_double_quoted`
//! / `write_single_quoted` with an unlimited width and `allow_unicode` unset,
//! so non-ASCII characters are escaped in double quotes and nothing is ever
//! folded. `yaml_encode` represents one scalar with `SafeRepresenter` and
//! double-quotes strings.

use super::emit::represent_scalar;
use super::resolve::TAG_STR;
use crate::value::Value;

/// `yaml_dquote(text)`: a double-quoted YAML scalar, quotes included.
pub fn dump_scalar_double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        let escape = matches!(
            ch,
            '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        ) || !(' '..='~').contains(&ch);
        if !escape {
            out.push(ch);
            continue;
        }
        let rep = match ch {
            '\0' => Some('0'),
            '\x07' => Some('a'),
            '\x08' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\x0b' => Some('v'),
            '\x0c' => Some('f'),
            '\r' => Some('r'),
            '\x1b' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{a0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        match rep {
            Some(r) => {
                out.push('\\');
                out.push(r);
            }
            None => {
                let c = ch as u32;
                if c <= 0xff {
                    out.push_str(&format!("\\x{c:02X}"));
                } else if c <= 0xffff {
                    out.push_str(&format!("\\u{c:04X}"));
                } else {
                    out.push_str(&format!("\\U{c:08X}"));
                }
            }
        }
    }
    out.push('"');
    out
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// `yaml_squote(text)`: a single-quoted YAML scalar, quotes included. Line
/// breaks are written as YAML folds them back (a lone `\n` becomes a blank
/// line).
pub fn dump_scalar_single_quoted(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if is_break(ch) {
            let start = i;
            while i < chars.len() && is_break(chars[i]) {
                i += 1;
            }
            if chars[start] == '\n' {
                out.push('\n');
            }
            for &br in &chars[start..i] {
                out.push(br);
            }
            continue;
        }
        if ch == '\'' {
            out.push_str("''");
        } else {
            out.push(ch);
        }
        i += 1;
    }
    out.push('\'');
    out
}

/// `yaml_encode(data)`: a scalar as YAML text (strings double-quoted,
/// `None` as `null`, floats as PyYAML writes them, bytes as base64). Lists
/// and maps are an error, as in Salt (a TypeError).
pub fn yaml_encode(value: &Value) -> Result<String, String> {
    match represent_scalar(value) {
        Some((tag, text)) if tag == TAG_STR => Ok(dump_scalar_double_quoted(&text)),
        Some((_, text)) => Ok(text),
        None => Err(format!(
            "yaml_encode() only works with YAML scalar data; failed for <class '{}'>",
            value.type_name()
        )),
    }
}
