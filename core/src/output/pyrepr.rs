//! Python's `repr()` / `str()` of a [`Value`], as the outputters print it
//! (`txt` uses `str(dict)`, `json` falls back to `repr` for bytes).

use crate::value::{py_float_repr, Value};

/// Python's `repr(value)`.
pub fn repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(v, &mut out);
    out
}

/// `repr(value)` where the maps `is_dict(depth, map)` rejects are
/// `OrderedDict`s (Python 3.11: `OrderedDict([('k', v)])`).
pub fn repr_ordered(
    v: &Value,
    is_dict: &dyn Fn(usize, &crate::value::Map) -> bool,
    depth: usize,
) -> String {
    match v {
        Value::List(l) => {
            let items: Vec<String> = l
                .iter()
                .map(|x| repr_ordered(x, is_dict, depth + 1))
                .collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(m) if is_dict(depth, m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{}: {}", repr(k), repr_ordered(x, is_dict, depth + 1)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Map(m) if m.is_empty() => "OrderedDict()".to_string(),
        Value::Map(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("({}, {})", repr(k), repr_ordered(x, is_dict, depth + 1)))
                .collect();
            format!("OrderedDict([{}])", items.join(", "))
        }
        other => repr(other),
    }
}

/// Python's `str(value)`: strings as they are, everything else as `repr`.
pub fn str_of(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => repr(other),
    }
}

/// `repr(float)` including Python's spelling of the non-finite values.
pub fn float_repr(f: f64) -> String {
    py_float_repr(f)
}

fn write_repr(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&float_repr(*f)),
        Value::Str(s) => out.push_str(&str_repr(s)),
        Value::Bytes(b) => out.push_str(&bytes_repr(b)),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(x, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(k, out);
                out.push_str(": ");
                write_repr(x, out);
            }
            out.push('}');
        }
    }
}

/// Whether Python's `str.isprintable()` is false for `c` (approximated:
/// control, format, separator and private-use characters other than ' ').
fn non_printable(c: char) -> bool {
    let u = c as u32;
    c.is_control()
        || matches!(
            u,
            0xa0 | 0xad
                | 0x1680
                | 0x2000..=0x200f
                | 0x2028..=0x202f
                | 0x205f..=0x2064
                | 0x3000
                | 0xfeff
                | 0xe000..=0xf8ff
                | 0xfff9..=0xfffb
        )
}

/// Python's `repr(str)`.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if non_printable(c) => {
                let u = c as u32;
                if u < 0x100 {
                    out.push_str(&format!("\\x{u:02x}"));
                } else if u < 0x10000 {
                    out.push_str(&format!("\\u{u:04x}"));
                } else {
                    out.push_str(&format!("\\U{u:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr(bytes)`.
pub fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(quote as char);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote as char);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprs() {
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a'\"b"), "'a\\'\"b'");
        assert_eq!(str_repr("t\u{1}\u{e9}"), "'t\\x01\u{e9}'");
        assert_eq!(bytes_repr(b"a\xff'"), "b\"a\\xff'\"");
        let mut m = crate::value::Map::default();
        m.insert(
            Value::from("a"),
            Value::List(vec![Value::Null, Value::Bool(true), Value::Float(1.0)]),
        );
        assert_eq!(repr(&Value::Map(m)), "{'a': [None, True, 1.0]}");
    }
}
