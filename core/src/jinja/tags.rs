//! Salt's Jinja extension tags (`salt.utils.jinja.SerializerExtension`),
//! rewritten to plain Jinja before parsing since minijinja has no custom-tag
//! API. Line numbers are kept: each rewritten tag has as many newlines as
//! the original.
//!
//! - `{% import_yaml EXPR as NAME %}` -> `{% set NAME = __salt_import('yaml', EXPR) %}`
//!   (also `import_json`, `import_text`; the file is rendered as a template
//!   first, as Salt's `import` does).
//! - `{% load_yaml as NAME %}...{% endload %}` ->
//!   `{% set NAME %}...{% endset %}{% set NAME = NAME|load_yaml %}`
//!   (also `load_json`, `load_text`).
//! - `{% profile as LABEL %}...{% endprofile %}` -> a plain block.

use regex::{Captures, Regex};
use std::borrow::Cow;
use std::sync::OnceLock;

fn tag_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?s)\{%(?P<l>[-+]?)(?P<ws>\s*)(?P<kw>import_yaml|import_json|import_text|load_yaml|load_json|load_text|endload|profile|endprofile|from|import|include)\b(?P<body>.*?)(?P<r>[-+]?)%\}",
        )
        .expect("static regex")
    })
}

fn import_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?s)^(?P<expr>.*)\sas\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:(?:with|without)\s+context\s*)?$")
            .expect("static regex")
    })
}

fn load_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?s)^\s*as\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$").expect("static regex")
    })
}

/// Pad `new` with newlines (inside the tag) so it spans as many lines as `old`.
fn keep_lines(old: &str, mut new: String, r: &str) -> String {
    let missing = old
        .matches('\n')
        .count()
        .saturating_sub(new.matches('\n').count());
    new.push_str(&"\n".repeat(missing));
    new.push_str(r);
    new.push_str("%}");
    new
}

/// Set while a template is imported `with context` or included.
pub const CONTEXT_FLAG: &str = "__brine_with_context";

/// The first-line prelude of a template loaded by name: as Salt's loader
/// updates the environment globals, a template imported without context
/// sees its own `tpldir`, `tplfile` and `tpldot`.
pub fn loaded_prelude(tpldir: &str, tplfile: &str) -> String {
    let q = |s: &str| format!("{s:?}");
    format!(
        "{{% if not {CONTEXT_FLAG}|default(false) %}}{{% set tpldir = {} %}}{{% set tplfile = {} %}}{{% set tpldot = {} %}}{{% endif %}}",
        q(if tpldir.is_empty() { "." } else { tpldir }),
        q(tplfile),
        q(&tpldir.replace('/', ".")),
    )
}

/// A loaded template's source without its [`loaded_prelude`].
pub fn strip_prelude(src: &str) -> &str {
    if src.starts_with(&format!("{{% if not {CONTEXT_FLAG}")) {
        if let Some(i) = src.find("{% endif %}") {
            return &src[i + "{% endif %}".len()..];
        }
    }
    src
}

/// Rewrite Salt's extension tags in a template source.
pub fn rewrite(source: &str) -> String {
    rewrite_cow(source).into_owned()
}

/// [`rewrite`], borrowing the source when it has no tag to rewrite.
pub fn rewrite_cow(source: &str) -> Cow<'_, str> {
    if !has_candidate_tag(source) {
        return Cow::Borrowed(source);
    }
    // `{% raw %}` blocks are left alone.
    let mut out = String::with_capacity(source.len());
    let mut load_stack: Vec<(String, String)> = Vec::new();
    let mut rest = source;
    while let Some(m) = raw_re().find(rest) {
        out.push_str(&rewrite_plain(&rest[..m.start()], &mut load_stack));
        out.push_str(m.as_str());
        rest = &rest[m.end()..];
    }
    out.push_str(&rewrite_plain(rest, &mut load_stack));
    Cow::Owned(out)
}

/// Whether `source` may hold a tag [`tag_re`] matches: a `{%`, an optional
/// `-`/`+`, whitespace, then one of its keywords. Checked by hand so that
/// templates without such tags (most of them) need no regex at all.
fn has_candidate_tag(source: &str) -> bool {
    const KEYWORDS: [&str; 7] = [
        "import",
        "load_",
        "endload",
        "profile",
        "endprofile",
        "from",
        "include",
    ];
    memchr::memmem::find_iter(source.as_bytes(), b"{%").any(|i| {
        // `{%` is ASCII, so `i + 2` is a char boundary.
        let after = &source[i + 2..];
        let after = after.strip_prefix(['-', '+']).unwrap_or(after);
        let after = after.trim_start();
        KEYWORDS.iter().any(|k| after.starts_with(k))
    })
}

fn raw_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?s)\{%[-+]?\s*raw\s*[-+]?%\}.*?\{%[-+]?\s*endraw\s*[-+]?%\}")
            .expect("static regex")
    })
}

/// [`rewrite`] on text without raw blocks.
fn rewrite_plain(source: &str, load_stack: &mut Vec<(String, String)>) -> String {
    tag_re()
        .replace_all(source, |c: &Captures| {
            let whole = &c[0];
            let l = &c["l"];
            let r = &c["r"];
            let ws = &c["ws"];
            let kw = &c["kw"];
            let body = &c["body"];
            match kw {
                "import_yaml" | "import_json" | "import_text" => {
                    let Some(m) = import_re().captures(body) else {
                        return whole.to_string();
                    };
                    let fmt = &kw["import_".len()..];
                    let new = format!(
                        "{{%{l}{ws}set {name} = __salt_import('{fmt}', {expr}) ",
                        name = &m["name"],
                        expr = m["expr"].trim(),
                    );
                    keep_lines(whole, new, r)
                }
                "load_yaml" | "load_json" | "load_text" => {
                    let Some(m) = load_re().captures(body) else {
                        return whole.to_string();
                    };
                    let name = m["name"].to_string();
                    load_stack.push((name.clone(), kw.to_string()));
                    keep_lines(whole, format!("{{%{l}{ws}set {name} "), r)
                }
                "endload" => match load_stack.pop() {
                    Some((name, filter)) => keep_lines(
                        whole,
                        format!("{{%{l}{ws}endset %}}{{% set {name} = {name}|{filter} "),
                        r,
                    ),
                    None => whole.to_string(),
                },
                "from" | "import" | "include" => {
                    // Jinja2 gives included templates the caller's context
                    // (and imported ones with `with context`); flag it so
                    // the loaded template keeps the caller's `tpldir`.
                    let with_context = if kw == "include" {
                        !body.contains("without context")
                    } else {
                        body.contains("with context")
                    };
                    if !with_context {
                        return whole.to_string();
                    }
                    format!(
                        "{{%{l} set {CONTEXT_FLAG} = true %}}{{%{ws}{kw}{body}%}}{{% set {CONTEXT_FLAG} = false {r}%}}"
                    )
                }
                "profile" => keep_lines(whole, format!("{{%{l}{ws}if true "), r),
                "endprofile" => keep_lines(whole, format!("{{%{l}{ws}endif "), r),
                _ => whole.to_string(),
            }
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::{loaded_prelude, rewrite, strip_prelude};

    #[test]
    fn untouched_sources_are_borrowed() {
        use super::rewrite_cow;
        use std::borrow::Cow;
        for src in [
            "",
            "a: {{ x }}",
            "{% set from_x = 1 %}{%- if y %}{% endif %}",
        ] {
            assert!(matches!(rewrite_cow(src), Cow::Borrowed(s) if s == src));
        }
        // Candidates go through the rewriter, which may leave them as is.
        assert_eq!(
            rewrite_cow("{%- from 'a' import b %}"),
            "{%- from 'a' import b %}"
        );
        // Unicode whitespace counts, as for the regex's `\s`.
        assert!(rewrite_cow("{%\u{a0}include 'a' %}").contains(super::CONTEXT_FLAG));
    }

    #[test]
    fn rewrites_keep_lines() {
        let src = "{% import_yaml tpldir ~ '/d.yaml' as d %}\n{%- load_json as j -%}\n{\"a\": 1}\n{% endload %}\n";
        let out = rewrite(src);
        assert_eq!(
            out,
            "{% set d = __salt_import('yaml', tpldir ~ '/d.yaml') %}\n{%- set j -%}\n{\"a\": 1}\n{% endset %}{% set j = j|load_json %}\n"
        );
        assert_eq!(
            rewrite("{%- include 'a' -%}"),
            "{%- set __brine_with_context = true %}{% include 'a' %}{% set __brine_with_context = false -%}"
        );
        assert_eq!(
            rewrite("{% from 'a' import b %}"),
            "{% from 'a' import b %}"
        );
        let p = loaded_prelude("a/b", "a/b/c.jinja");
        assert_eq!(strip_prelude(&format!("{p}x")), "x");
        let raw = "{% raw %}{% include 'a' %}{% endraw %}{% include 'b' %}";
        assert!(rewrite(raw).starts_with("{% raw %}{% include 'a' %}{% endraw %}{% set "));
        let multi = "{% import_json\n 'x.json'\n as x %}";
        assert_eq!(rewrite(multi).matches('\n').count(), 2);
    }
}
