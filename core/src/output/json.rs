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
    match write(v, &Layout { indent, sort_keys }, 0, &mut out) {
        Ok(()) => out,
        Err(Unserializable) => "{}".to_string(),
    }
}

/// A JSON string literal as Python writes it with `ensure_ascii=False`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into::<false>(s, &mut out);
    out
}

/// The bytes of `w` (8 string bytes, little-endian) that need an escape
/// (`"`, `\` or a control character below 0x20) have their high bit set
/// in the result. The classic "has a zero byte" bit trick: bytes above
/// the lowest flagged one may be flagged wrongly, the lowest one is exact.
#[inline]
fn escape_mask(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(LO * 0x20) & !w & HI;
    let q = w ^ (LO * b'"' as u64);
    let quote = q.wrapping_sub(LO) & !q & HI;
    let b = w ^ (LO * b'\\' as u64);
    let backslash = b.wrapping_sub(LO) & !b & HI;
    below_space | quote | backslash
}

/// [`quote`], appended to `out`; for a map key (`KEY`) followed by `: `.
/// The string is scanned 8 bytes at a time and runs that need no escape
/// are copied in one go.
fn quote_into<const KEY: bool>(s: &str, out: &mut String) {
    /// Fills the bytes past the end of a short tail: needs no escape.
    const PAD: u64 = 0x6161_6161_6161_6161;
    let bytes = s.as_bytes();
    let n = bytes.len();
    out.reserve(n + 4);
    out.push('"');
    let mut start = 0;
    let mut i = 0;
    while i < n {
        let word = match bytes[i..].first_chunk::<8>() {
            Some(w) => u64::from_le_bytes(*w),
            None => {
                let rest = n - i;
                match bytes.last_chunk::<8>() {
                    // The last 8 bytes, shifted so that the tail comes
                    // first, padded above it.
                    Some(w) => (u64::from_le_bytes(*w) >> (8 * (8 - rest))) | (PAD << (8 * rest)),
                    // A string shorter than 8 bytes.
                    None => {
                        let mut w = [b'a'; 8];
                        w[..rest].copy_from_slice(&bytes[i..]);
                        u64::from_le_bytes(w)
                    }
                }
            }
        };
        let mask = escape_mask(word);
        if mask == 0 {
            i += 8;
            continue;
        }
        // The first flagged byte is exact, and never padding.
        let j = i + (mask.trailing_zeros() / 8) as usize;
        // Only ASCII bytes are escaped: `j` is on a character boundary.
        out.push_str(&s[start..j]);
        let b = bytes[j];
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
        i = j + 1;
        start = i;
    }
    out.push_str(&s[start..]);
    if KEY {
        out.push_str("\": ");
    } else {
        out.push('"');
    }
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

/// `indent` and `sort_keys` of one dump.
struct Layout {
    indent: Option<usize>,
    sort_keys: bool,
}

/// A comma, a newline and indentation: item separators are slices of it.
const COMMA_NL_                                                                                                                                : &str = ",\n                                                                                                                                ";

impl Layout {
    /// What goes before item `i` of a list or map at `level` (its own
    /// level): the separator, then with an indent a newline and spaces.
    fn item_start(&self, i: usize, level: usize, out: &mut String) {
        match self.indent {
            None => {
                if i > 0 {
                    out.push_str(", ");
                }
            }
            Some(n) => self.line(i > 0, n * level, out),
        }
    }

    /// What goes before the closing bracket of a list or map at `level`.
    fn close(&self, level: usize, bracket: char, out: &mut String) {
        if let Some(n) = self.indent {
            self.line(false, n * level, out);
        }
        out.push(bracket);
    }

    /// An optional comma, a newline and `width` spaces.
    fn line(&self, comma: bool, width: usize, out: &mut String) {
        let from = usize::from(!comma);
        let room = COMMA_NL_.len() - 2;
        out.push_str(&COMMA_NL_[from..2 + width.min(room)]);
        let mut left = width.saturating_sub(room);
        while left > 0 {
            let k = left.min(room);
            out.push_str(&COMMA_NL_[2..2 + k]);
            left -= k;
        }
    }
}

/// A Python int in decimal.
fn push_int(i: i128, out: &mut String) {
    let mut buf = [0u8; 40];
    let mut pos = buf.len();
    let u = i.unsigned_abs();
    match u64::try_from(u) {
        Ok(mut v) => loop {
            pos -= 1;
            buf[pos] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        },
        Err(_) => {
            let mut v = u;
            loop {
                pos -= 1;
                buf[pos] = b'0' + (v % 10) as u8;
                v /= 10;
                if v == 0 {
                    break;
                }
            }
        }
    }
    if i < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    out.push_str(std::str::from_utf8(&buf[pos..]).unwrap_or_default());
}

fn write(v: &Value, f: &Layout, level: usize, out: &mut String) -> Result<(), Unserializable> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => push_int(*i, out),
        Value::Float(x) => out.push_str(&float(*x)),
        Value::Str(s) => quote_into::<false>(s, out),
        Value::Bytes(b) => quote_into::<false>(&pyrepr::bytes_repr(b), out),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                f.item_start(i, level + 1, out);
                write(x, f, level + 1, out)?;
            }
            f.close(level, ']', out);
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            if !f.sort_keys {
                out.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    f.item_start(i, level + 1, out);
                    write_key(k, out)?;
                    write(x, f, level + 1, out)?;
                }
                f.close(level, '}', out);
                return Ok(());
            }
            let mut items: Vec<(&Value, &Value)> = m.iter().collect();
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
            out.push('{');
            for (i, (k, x)) in items.into_iter().enumerate() {
                f.item_start(i, level + 1, out);
                write_key(k, out)?;
                write(x, f, level + 1, out)?;
            }
            f.close(level, '}', out);
        }
    }
    Ok(())
}

/// A map key and the `: ` after it.
fn write_key(k: &Value, out: &mut String) -> Result<(), Unserializable> {
    match k {
        Value::Str(ks) => quote_into::<true>(ks, out),
        _ => quote_into::<true>(&key(k)?, out),
    }
    Ok(())
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        other => other.as_int().unwrap_or(0) as f64,
    }
}

#[cfg(test)]
mod quote_tests {
    use super::*;

    /// Python's rule, one byte at a time: the reference for the word-wise
    /// scanner.
    fn reference(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn quote_matches_python() {
        // (input, json.dumps(input, ensure_ascii=False)) from Python 3.11.
        let cases: &[(&str, &str)] = &[
            ("", "\"\""),
            ("state", "\"state\""),
            ("\"", "\"\\\"\""),
            ("ab\\cd", "\"ab\\\\cd\""),
            ("0123456\n", "\"0123456\\n\""),
            ("01234567\"", "\"01234567\\\"\""),
            ("012345678\t9", "\"012345678\\t9\""),
            (
                "\u{e9}\u{e9}\u{fc}\"x\u{2603}\u{1}abcdefgh\u{1f}\u{7f}",
                "\"\u{e9}\u{e9}\u{fc}\\\"x\u{2603}\\u0001abcdefgh\\u001f\u{7f}\"",
            ),
            (
                "line one\nline two\r\n\ttab\u{8}\u{c} end",
                "\"line one\\nline two\\r\\n\\ttab\\b\\f end\"",
            ),
            (
                "\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\\",
                "\"\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\\\\\"",
            ),
            ("\u{0}", "\"\\u0000\""),
        ];
        for (input, want) in cases {
            assert_eq!(quote(input), *want, "{input:?}");
        }
    }

    #[test]
    fn quote_agrees_with_bytewise_reference_at_every_offset() {
        let specials = [
            '"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '\u{7f}', '\u{e9}', '\u{2603}',
        ];
        for len in 0..20 {
            for pos in 0..len {
                for sp in specials {
                    for sp2 in specials {
                        let mut s: String = (0..len).map(|i| (b'a' + i as u8) as char).collect();
                        s.insert(pos, sp);
                        s.push(sp2);
                        assert_eq!(quote(&s), reference(&s), "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn ints_and_indent_match_python() {
        let v = Value::from_json(
            &serde_json::from_str(r#"{"a": [1, -2, {"b": "c"}, 0], "": {}}"#).expect("json"),
        );
        assert_eq!(
            dumps(&v, Some(4), false),
            "{\n    \"a\": [\n        1,\n        -2,\n        {\n            \"b\": \"c\"\n        },\n        0\n    ],\n    \"\": {}\n}"
        );
        let mut out = String::new();
        push_int(i128::MAX, &mut out);
        out.push(' ');
        push_int(i128::MIN, &mut out);
        assert_eq!(
            out,
            "170141183460469231731687303715884105727 -170141183460469231731687303715884105728"
        );
        // Deep nesting: indentation wider than the prepared run of spaces.
        let mut deep = Value::Int(7);
        for _ in 0..40 {
            deep = Value::List(vec![deep]);
        }
        let text = dumps(&deep, Some(4), false);
        let want_line = format!("\n{}7\n", " ".repeat(160));
        assert!(text.contains(&want_line));
    }
}
