//! Salt's outputters: json, yaml, nested, highstate, txt.
//!
//! [`display`] picks the outputter as `salt.output.get_printout` does and
//! returns the text `try_printout` would print (right-stripped; the caller
//! adds the final newline when the text is not empty).

pub mod highstate;
pub mod json;
pub mod nested;
pub mod pyrepr;
pub mod txt;

pub use nested::{NestedOptions, SortMaps};

use crate::value::Value;

/// The ANSI colours of `salt.utils.color.get_colors` (all empty when off).
#[derive(Debug, Clone, Copy)]
pub struct Colors {
    pub red: &'static str,
    pub light_red: &'static str,
    pub green: &'static str,
    pub yellow: &'static str,
    pub light_yellow: &'static str,
    pub cyan: &'static str,
    pub endc: &'static str,
}

impl Colors {
    pub fn new(on: bool) -> Colors {
        if on {
            Colors {
                red: "\x1b[0;31m",
                light_red: "\x1b[0;1;31m",
                green: "\x1b[0;32m",
                yellow: "\x1b[0;33m",
                light_yellow: "\x1b[0;1;33m",
                cyan: "\x1b[0;36m",
                endc: "\x1b[0;0m",
            }
        } else {
            Colors {
                red: "",
                light_red: "",
                green: "",
                yellow: "",
                light_yellow: "",
                cyan: "",
                endc: "",
            }
        }
    }
}

/// The `output_indent` setting (`--out-indent` or config).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OutputIndent {
    /// Not set: json uses 4, yaml block style.
    #[default]
    Unset,
    /// `None`: one line.
    Null,
    /// `pretty`: json with 4 and sorted keys.
    Pretty,
    Spaces(i64),
}

/// What the outputters need from opts and the job.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    pub color: bool,
    pub indent: OutputIndent,
    /// The job's retcode (the nested outputter paints red when non-zero).
    pub retcode: i32,
    /// Which maps the nested outputter sorts.
    pub sort: SortMaps,
}

/// An outputter name as `get_printout` normalises it: `text` is `txt`,
/// empty is `nested`, unknown names fall back to `nested`.
pub fn normalize_name(out: &str) -> &str {
    match out {
        "text" | "txt" => "txt",
        "json" | "yaml" | "highstate" | "nested" => out,
        _ => "nested",
    }
}

/// Whether Brine has this outputter (Salt logs an error and uses nested
/// otherwise).
pub fn is_known(out: &str) -> bool {
    matches!(
        out,
        "text" | "txt" | "json" | "yaml" | "highstate" | "nested" | ""
    )
}

/// Format `data` with outputter `out`, right-stripped as `try_printout`.
pub fn display(data: &Value, out: &str, opts: &OutputOptions) -> String {
    let text = match normalize_name(out) {
        "json" => {
            let (indent, sort) = match opts.indent {
                OutputIndent::Unset => (Some(4), false),
                OutputIndent::Null => (None, false),
                OutputIndent::Pretty => (Some(4), true),
                OutputIndent::Spaces(n) if n < 0 => (None, false),
                OutputIndent::Spaces(n) => (Some(n as usize), false),
            };
            json::dumps(data, indent, sort)
        }
        "yaml" => {
            let indent = match opts.indent {
                OutputIndent::Unset => None,
                OutputIndent::Spaces(n) => Some(n),
                // `None >= 0` raises TypeError: Salt falls back to nested.
                OutputIndent::Null | OutputIndent::Pretty => {
                    return nested_text(data, opts).trim_end().to_string()
                }
            };
            let cfg = crate::yaml::DumpConfig::yaml_out(indent);
            match &opts.sort {
                SortMaps::All => crate::yaml::dump_with(data, &cfg),
                policy => crate::yaml::dump_with(&presort(data, policy, 0), &cfg.sort_keys(false)),
            }
        }
        "txt" => txt::output(data, &opts.sort),
        "highstate" => highstate::output(data, opts),
        _ => nested_text(data, opts),
    };
    // Right-strip in place: the text can be large (a lowstate as JSON).
    let mut text = text;
    let end = text.trim_end().len();
    text.truncate(end);
    text
}

/// Sort the maps the policy calls plain dicts, so that a dumper keeping
/// insertion order prints them as Python would.
fn presort(v: &Value, policy: &SortMaps, depth: usize) -> Value {
    match v {
        Value::List(l) => Value::List(l.iter().map(|x| presort(x, policy, depth + 1)).collect()),
        Value::Map(m) => {
            let items: Vec<(Value, &Value)> = if policy.sorts(depth, m) {
                nested::sorted_items(m)
            } else {
                m.iter().map(|(k, x)| (k.clone(), x)).collect()
            };
            Value::Map(
                items
                    .into_iter()
                    .map(|(k, x)| (k, presort(x, policy, depth + 1)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

fn nested_text(data: &Value, opts: &OutputOptions) -> String {
    nested::output(
        data,
        &NestedOptions {
            color: opts.color,
            retcode: opts.retcode,
            base_indent: 0,
            sort: opts.sort.clone(),
        },
    )
}

#[cfg(test)]
mod tests;
