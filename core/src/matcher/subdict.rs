//! `salt.utils.data.subdict_match` and `traverse_dict_and_list`: the grain
//! and pillar matchers' walk through nested data with a delimiter.

use super::fnmatch::fnmatch;
use crate::value::Value;

/// Python's `str(value)` for the scalar values grains and pillars hold.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::value::py_float_repr(*f),
        Value::Str(s) => s.clone(),
        Value::Bytes(b) => format!("b'{}'", String::from_utf8_lossy(b)),
        Value::List(l) => format!("[{}]", l.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `repr(value)`.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Str(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        other => py_str(other),
    }
}

/// The YAML-ish reinterpretation `yamlify_arg` gives a key that did not
/// match as a string (`"1"` -> `1`, `"true"` -> `True`).
fn yamlify_key(s: &str) -> Option<Value> {
    if let Ok(i) = s.parse::<i128>() {
        return Some(Value::Int(i));
    }
    if s.contains('.') {
        if let Ok(f) = s.parse::<f64>() {
            return Some(Value::Float(f));
        }
    }
    match s {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "on" | "On" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" | "no" | "No" | "off" | "Off" => Some(Value::Bool(false)),
        _ => None,
    }
}

/// `traverse_dict_and_list(data, key, default=None, delimiter)`.
pub fn traverse<'a>(data: &'a Value, key: &str, delimiter: &str) -> Option<&'a Value> {
    let mut ptr = data;
    for each in key.split(delimiter) {
        ptr = match ptr {
            Value::List(l) => {
                let idx = each.parse::<i64>().ok();
                let key_val = match idx {
                    Some(i) => Value::Int(i as i128),
                    None => Value::str(each),
                };
                let embedded = l
                    .iter()
                    .filter_map(|x| x.as_map())
                    .find_map(|m| m.get(&key_val));
                match (embedded, idx) {
                    (Some(v), _) => v,
                    (None, Some(i)) => {
                        let len = l.len() as i64;
                        let i = if i < 0 { i + len } else { i };
                        if i < 0 || i >= len {
                            return None;
                        }
                        &l[i as usize]
                    }
                    (None, None) => return None,
                }
            }
            Value::Map(m) => match m.get(&Value::str(each)) {
                Some(v) => v,
                None => {
                    let k = yamlify_key(each)?;
                    m.get(&k)?
                }
            },
            _ => return None,
        };
    }
    Some(ptr)
}

fn match_one(target: &Value, pattern: &str, regex: bool) -> bool {
    let target = py_str(target).to_lowercase();
    let pattern = pattern.to_lowercase();
    if regex {
        match regex::Regex::new(&format!("^(?:{pattern})")) {
            Ok(re) => re.is_match(&target),
            Err(_) => false,
        }
    } else {
        fnmatch(&target, &pattern)
    }
}

fn dict_match(target: &Value, pattern: &str, regex: bool) -> bool {
    let Some(map) = target.as_map() else {
        return false;
    };
    let (wildcard, pattern) = match pattern.strip_prefix("*:") {
        Some(p) => (true, p),
        None => (false, pattern),
    };
    if pattern == "*" || map.contains_key(&Value::str(pattern)) {
        return true;
    }
    // Salt recurses with the default delimiter here.
    if subdict_match(target, pattern, ":", regex) {
        return true;
    }
    if wildcard {
        for v in map.values() {
            match v {
                Value::Map(_) => {
                    if dict_match(v, pattern, regex) {
                        return true;
                    }
                }
                Value::List(items) => {
                    if items.iter().any(|i| match_one(i, pattern, regex)) {
                        return true;
                    }
                }
                other => {
                    if match_one(other, pattern, regex) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// `salt.utils.data.subdict_match(data, expr, delimiter, regex_match)`.
pub fn subdict_match(data: &Value, expr: &str, delimiter: &str, regex: bool) -> bool {
    let splits: Vec<&str> = expr.split(delimiter).collect();
    if splits.len() == 1 {
        return false;
    }
    for idx in (1..splits.len()).rev() {
        let key = splits[..idx].join(delimiter);
        let (matchstr, found) = if key == "*" {
            (expr.to_string(), Some(data))
        } else {
            (
                splits[idx..].join(delimiter),
                traverse(data, &key, delimiter),
            )
        };
        let Some(found) = found else { continue };
        if matches!(found, Value::Map(m) if m.is_empty()) {
            continue;
        }
        match found {
            Value::Map(_) => {
                if dict_match(found, &matchstr, regex) {
                    return true;
                }
            }
            Value::List(items) => {
                for member in items {
                    if member.as_map().is_some() && dict_match(member, &matchstr, regex) {
                        return true;
                    }
                    if match_one(member, &matchstr, regex) {
                        return true;
                    }
                }
            }
            other => {
                if match_one(other, &matchstr, regex) {
                    return true;
                }
            }
        }
    }
    false
}
