//! Conversion between Brine's [`Value`] and minijinja values.
//!
//! Lists and dicts become the shared mutable containers of the patched
//! minijinja (`MutList`, `MutMap`), so templates can `append`/`update` them
//! in place as Python code does. Map order and non-string keys are kept.

use crate::value::{Map, Value};
use minijinja::value::{BrineMap, MutList, MutMap, Value as MjValue, ValueKind};

/// Brine value -> template value (maps become Python dicts).
pub fn to_jinja(v: &Value) -> MjValue {
    convert(v, false, false)
}

/// Brine value -> template value, maps becoming `OrderedDict`s (data loaded
/// by Salt's YAML renderer, such as pillar).
pub fn to_jinja_ordered(v: &Value) -> MjValue {
    convert(v, true, false)
}

/// [`to_jinja`] (`ordered`: [`to_jinja_ordered`]) for data handed to
/// several renders: writes to its lists and dicts are counted by
/// `minijinja::value::shared_writes`.
pub(crate) fn to_jinja_shared(v: &Value, ordered: bool) -> MjValue {
    convert(v, ordered, true)
}

/// Whether a template value holds an `OrderedDict` anywhere.
pub fn contains_ordered(v: &MjValue) -> bool {
    contains_ordered_depth(v, 0)
}

fn contains_ordered_depth(v: &MjValue, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let contains_ordered = |x: &MjValue| contains_ordered_depth(x, depth + 1);
    if let Some(m) = v.downcast_object_ref::<MutMap>() {
        if m.is_ordered() {
            return true;
        }
        let values: Vec<MjValue> = m.map().values().cloned().collect();
        return values.iter().any(contains_ordered);
    }
    if let Some(l) = v.downcast_object_ref::<MutList>() {
        let items = l.items().clone();
        return items.iter().any(contains_ordered);
    }
    false
}

fn convert(v: &Value, ordered: bool, shared: bool) -> MjValue {
    match v {
        Value::Null => MjValue::from(()),
        Value::Bool(b) => MjValue::from(*b),
        Value::Int(i) => MjValue::from(*i),
        Value::Float(f) => MjValue::from(*f),
        Value::Str(s) => MjValue::from(s.as_str()),
        Value::Bytes(b) => MjValue::from_bytes(b.clone()),
        Value::List(l) => {
            let items = l.iter().map(|x| convert(x, ordered, shared)).collect();
            if shared {
                MutList::new_shared_value(items)
            } else {
                MutList::new_value(items)
            }
        }
        Value::Map(m) => {
            let mut out = BrineMap::with_capacity(m.len());
            for (k, v) in m {
                out.insert(convert(k, ordered, shared), convert(v, ordered, shared));
            }
            if shared {
                MutMap::new_shared_value(out, ordered)
            } else if ordered {
                MutMap::new_ordered_value(out)
            } else {
                MutMap::new_value(out)
            }
        }
    }
}

/// Template value -> Brine value. Undefined becomes `None`; callables and
/// other opaque objects become their string form.
pub fn from_jinja(v: &MjValue) -> Value {
    from_jinja_depth(v, 0)
}

/// Containers nested deeper than this (a list appended to itself) convert
/// as `None` rather than recursing forever.
const MAX_DEPTH: usize = 500;

fn from_jinja_depth(v: &MjValue, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    let from_jinja = |x: &MjValue| from_jinja_depth(x, depth + 1);
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(v.is_true()),
        ValueKind::Number => {
            if v.is_integer() {
                match i128::try_from(v.clone()) {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::Float(f64::try_from(v.clone()).unwrap_or(f64::NAN)),
                }
            } else {
                Value::Float(f64::try_from(v.clone()).unwrap_or(f64::NAN))
            }
        }
        ValueKind::String => Value::Str(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => Value::Bytes(v.as_bytes().unwrap_or_default().to_vec()),
        ValueKind::Map => {
            let mut out = Map::default();
            if let Some(obj) = v.as_object() {
                if let Some(pairs) = obj.try_iter_pairs() {
                    for (k, val) in pairs {
                        out.insert(from_jinja(&k), from_jinja(&val));
                    }
                }
            }
            Value::Map(out)
        }
        ValueKind::Seq | ValueKind::Iterable => match v.try_iter() {
            Ok(it) => Value::List(it.map(|x| from_jinja(&x)).collect()),
            Err(_) => Value::List(Vec::new()),
        },
        _ => Value::Str(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_order_and_types() {
        let mut m = Map::default();
        m.insert(Value::from("z"), Value::Int(1));
        m.insert(Value::Int(2), Value::Float(1.5));
        m.insert(
            Value::from("a"),
            Value::List(vec![Value::Null, Value::Bool(true)]),
        );
        m.insert(Value::from("b"), Value::Bytes(b"xy".to_vec()));
        let v = Value::Map(m);
        assert_eq!(from_jinja(&to_jinja(&v)), v);
        let back = from_jinja(&to_jinja(&v));
        let keys: Vec<_> = back.as_map().unwrap().keys().cloned().collect();
        assert_eq!(keys[0], Value::from("z"));
        assert_eq!(keys[1], Value::Int(2));
    }

    #[test]
    fn python_repr_output() {
        let v = Value::List(vec![
            Value::from("a"),
            Value::Null,
            Value::Bool(true),
            Value::Float(1e16),
        ]);
        assert_eq!(to_jinja(&v).to_string(), "['a', None, True, 1e+16]");
    }
}
