//! The `json` outputter: `salt.utils.json.dumps(data, default=repr,
//! indent=4)` byte for byte (Python's `json` module with
//! `ensure_ascii=False`).

use super::pyrepr;
use crate::value::{py_float_repr, Value};

/// Why Python's `json.dumps` would raise `TypeError` (the outputter then
/// prints `{}`).
#[derive(Debug)]
struct Unserializable;

/// `json.dumps(v, default=repr, ensure_ascii=False, indent=indent,
/// sort_keys=sort_keys)`. `indent = None` gives the one-line form.
/// Like Salt's outputter, data Python cannot serialize gives `{}`.
pub fn dumps(v: &Value, indent: Option<usize>, sort_keys: bool) -> String {
    let mut out = String::new();
    match write(v, indent, sort_keys, 0, &mut out) {
        Ok(()) => out,
        Err(Unserializable) => "{}".to_string(),
    }
}

/// A JSON string literal as Python writes it with `ensure_ascii=False`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(s, &mut out);
    out
}

/// [`quote`], appended to `out`: runs of characters that need no escape are
/// copied in one go.
fn quote_into(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            b if b < 0x20 => "",
            _ => continue,
        };
        // Only ASCII bytes are escaped: `i` is on a character boundary.
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{:04x}", b));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A float as Python's `json.dumps` writes it (`NaN`, `Infinity`, repr).
pub(crate) fn float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        py_float_repr(f)
    }
}

/// A map key as `json.dumps` converts it.
fn key(k: &Value) -> Result<String, Unserializable> {
    Ok(match k {
        Value::Str(s) => s.clone(),
        Value::Bool(true) => "true".into(),
        Value::Bool(false) => "false".into(),
        Value::Null => "null".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float(*f),
        _ => return Err(Unserializable),
    })
}

fn newline(indent: Option<usize>, level: usize, out: &mut String) {
    if let Some(n) = indent {
        out.push('\n');
        let mut width = n * level;
        const SPACES: &str = "                                                                ";
        while width > 0 {
            let k = width.min(SPACES.len());
            out.push_str(&SPACES[..k]);
            width -= k;
        }
    }
}

fn write(
    v: &Value,
    indent: Option<usize>,
    sort_keys: bool,
    level: usize,
    out: &mut String,
) -> Result<(), Unserializable> {
    let item_sep = if indent.is_some() { "," } else { ", " };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&float(*f)),
        Value::Str(s) => quote_into(s, out),
        Value::Bytes(b) => out.push_str(&quote(&pyrepr::bytes_repr(b))),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(indent, level + 1, out);
                write(x, indent, sort_keys, level + 1, out)?;
            }
            newline(indent, level, out);
            out.push(']');
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            let mut items: Vec<(&Value, &Value)> = m.iter().collect();
            if sort_keys {
                // Python sorts the original keys; only all-str or
                // all-number keys are comparable.
                if items.iter().all(|(k, _)| matches!(k, Value::Str(_))) {
                    items.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
                } else if items
                    .iter()
                    .all(|(k, _)| matches!(k, Value::Int(_) | Value::Bool(_) | Value::Float(_)))
                {
                    items.sort_by(|a, b| num(a.0).total_cmp(&num(b.0)));
                } else {
                    return Err(Unserializable);
                }
            }
            out.push('{');
            for (i, (k, x)) in items.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(indent, level + 1, out);
                match k {
                    Value::Str(ks) => quote_into(ks, out),
                    _ => quote_into(&key(k)?, out),
                }
                out.push_str(": ");
                write(x, indent, sort_keys, level + 1, out)?;
            }
            newline(indent, level, out);
            out.push('}');
        }
    }
    Ok(())
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        other => other.as_int().unwrap_or(0) as f64,
    }
}
