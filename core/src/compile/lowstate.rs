//! High data -> low chunks: `State.compile_high_data` (one chunk per ID,
//! state module and function, `names` expanded) and `order_chunks` (the
//! `order` option, `first`/`last`, negative orders and the sort Salt uses).

use super::util::{k, pstr, starts};
use crate::value::{Map, Value};

/// `compile_high_data`: the ordered low chunks.
pub fn compile_high_data(high: &Map) -> Vec<Value> {
    let mut chunks: Vec<Map> = Vec::new();
    for (name, body) in high {
        if starts(name, "__") {
            continue;
        }
        let Value::Map(body) = body else { continue };
        for (state, run) in body {
            if starts(state, "__") {
                continue;
            }
            let mut funcs: Vec<Value> = Vec::new();
            let mut names: Vec<Value> = Vec::new();
            let mut chunk = Map::default();
            chunk.insert(k("state"), state.clone());
            chunk.insert(k("name"), name.clone());
            for key in ["__sls__", "__env__", "__sls_included_from__"] {
                if let Some(v) = body.get(&k(key)) {
                    chunk.insert(k(key), v.clone());
                }
            }
            chunk.insert(k("__id__"), name.clone());
            let Value::List(run) = run else { continue };
            for arg in run {
                match arg {
                    Value::Str(_) if !funcs.contains(arg) => funcs.push(arg.clone()),
                    Value::Str(_) => {}
                    Value::Map(m) => {
                        for (key, val) in m {
                            match key.as_str() {
                                Some("names") => {
                                    let items: Vec<Value> = match val {
                                        Value::List(l) => l.clone(),
                                        Value::Str(s) => {
                                            s.chars().map(|c| Value::Str(c.to_string())).collect()
                                        }
                                        Value::Map(m) => m.keys().cloned().collect(),
                                        _ => vec![],
                                    };
                                    for n in items {
                                        if !names.contains(&n) {
                                            names.push(n);
                                        }
                                    }
                                }
                                Some("state") => {}
                                Some("name") if !matches!(val, Value::Str(_)) => {
                                    chunk.insert(key.clone(), name.clone());
                                }
                                _ => {
                                    chunk.insert(key.clone(), val.clone());
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            if !names.is_empty() {
                for (i, entry) in names.iter().enumerate() {
                    let mut live = chunk.clone();
                    match entry {
                        Value::Map(em) => {
                            if let Some((low_name, extra)) = em.iter().next() {
                                live.insert(k("name"), low_name.clone());
                                if let Value::List(upds) = extra {
                                    for u in upds {
                                        if let Value::Map(um) = u {
                                            for (uk, uv) in um {
                                                live.insert(uk.clone(), uv.clone());
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        other => {
                            live.insert(k("name"), other.clone());
                        }
                    }
                    live.insert(k("name_order"), Value::Int(i as i128 + 1));
                    for fun in &funcs {
                        let mut c = live.clone();
                        c.insert(k("fun"), fun.clone());
                        chunks.push(c);
                    }
                }
            } else if let Some((last, rest)) = funcs.split_last() {
                for fun in rest {
                    let mut c = chunk.clone();
                    c.insert(k("fun"), fun.clone());
                    chunks.push(c);
                }
                // The last function takes the chunk itself: no deep copy.
                chunk.insert(k("fun"), last.clone());
                chunks.push(chunk);
            }
        }
    }
    order_chunks(chunks).into_iter().map(Value::Map).collect()
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Bool(b) => Some(*b as i64 as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// `order_chunks`: resolve `order` values and sort by
/// `(order, state + name + fun)`.
pub fn order_chunks(mut chunks: Vec<Map>) -> Vec<Map> {
    let order_key = k("order");
    let mut cap: i128 = 1;
    for chunk in &chunks {
        if let Some(o) = chunk.get(&order_key) {
            let o = match o {
                Value::Int(i) => *i,
                Value::Bool(b) => *b as i128,
                _ => continue,
            };
            if o > cap - 1 && o > 0 {
                cap = o + 100;
            }
        }
    }
    for chunk in chunks.iter_mut() {
        let Some(o) = chunk.get(&order_key).cloned() else {
            chunk.insert(order_key.clone(), Value::Int(cap));
            continue;
        };
        let mut o = match o {
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => o,
            Value::Str(s) if s == "last" => Value::Int(cap + 1_000_000),
            Value::Str(s) if s == "first" => Value::Int(0),
            _ => Value::Int(cap),
        };
        if let Some(no) = chunk.shift_remove(&k("name_order")) {
            let base = num(&o).unwrap_or(0.0);
            o = Value::Float(base + num(&no).unwrap_or(0.0) / 10000.0);
        }
        if num(&o).is_some_and(|n| n < 0.0) {
            o = match o {
                Value::Float(f) => Value::Float((cap + 1_000_000) as f64 + f),
                other => Value::Int(cap + 1_000_000 + other.as_int().unwrap_or(0)),
            };
        }
        chunk.insert(order_key.clone(), o);
    }
    let sort_name = |c: &Map| {
        let g = |key: &str| c.get(&k(key)).map(pstr).unwrap_or_default();
        format!("{}{}{}", g("state"), g("name"), g("fun"))
    };
    let mut keyed: Vec<(f64, String, Map)> = chunks
        .drain(..)
        .map(|c| {
            (
                c.get(&order_key).and_then(num).unwrap_or(0.0),
                sort_name(&c),
                c,
            )
        })
        .collect();
    keyed.sort_by(|a, b| {
        a.0.partial_cmp(&b.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.1.cmp(&b.1))
    });
    keyed.into_iter().map(|(_, _, c)| c).collect()
}
