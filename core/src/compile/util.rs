//! Small Python-dict helpers the compiler uses on [`Value`] maps, so the
//! code reads like the Salt code it follows (`k in d`, `next(iter(d))`,
//! `str(x)`, `"__" prefix` checks on keys that may not be strings).

use crate::value::{Map, Value};

/// A string key.
pub fn k(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// `str(key).startswith(prefix)` for string keys only (Python raises
/// AttributeError on others, which Salt's callers treat as "no").
pub fn starts(key: &Value, prefix: &str) -> bool {
    key.as_str().is_some_and(|s| s.starts_with(prefix))
}

/// `next(iter(d))`.
pub fn first_key(m: &Map) -> Option<&Value> {
    m.keys().next()
}

/// Python's `str(x)`, with maps shown as the `OrderedDict` the YAML
/// renderer produces (Python 3.11 repr).
pub fn pstr(v: &Value) -> String {
    match v {
        Value::Map(_) | Value::List(_) => prepr(v),
        other => crate::matcher::subdict::py_str(other),
    }
}

/// Python's `repr(x)`, maps as `OrderedDict([(k, v), ...])`.
pub fn prepr(v: &Value) -> String {
    match v {
        Value::Map(m) if m.is_empty() => "OrderedDict()".into(),
        Value::Map(m) => format!(
            "OrderedDict([{}])",
            m.iter()
                .map(|(a, b)| format!("({}, {})", prepr(a), prepr(b)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::List(l) => format!("[{}]", l.iter().map(prepr).collect::<Vec<_>>().join(", ")),
        other => crate::matcher::subdict::py_repr(other),
    }
}

/// A one-key map `{key: val}`.
pub fn single(key: Value, val: Value) -> Value {
    let mut m = Map::default();
    m.insert(key, val);
    Value::Map(m)
}

/// Whether a value could be a dict key in Python (not a list or dict).
pub fn hashable(v: &Value) -> bool {
    !matches!(v, Value::List(_) | Value::Map(_))
}

/// `dict.get(key)` on a map value, for string keys.
pub fn mget<'a>(m: &'a Map, key: &str) -> Option<&'a Value> {
    m.get(&k(key))
}

/// The `__sls__` of a body, as `str`.
pub fn sls_of(body: &Value) -> String {
    body.get("__sls__").map(pstr).unwrap_or_default()
}

/// SLS names available in an environment, as `list_states` derives them
/// from the file list (`a/b.sls` -> `a.b`, `a/init.sls` -> `a`), sorted.
pub fn list_states(files: &[String]) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for path in files {
        if let Some(p) = path.strip_suffix("/init.sls") {
            out.insert(p.replace('/', "."));
        } else if let Some(p) = path.strip_suffix(".sls") {
            out.insert(p.replace('/', "."));
        }
    }
    out.into_iter().collect()
}
