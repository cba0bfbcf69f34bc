//! High data -> low chunks: `State.compile_high_data` (one chunk per ID,
//! state module and function, `names` expanded) and `order_chunks` (the
//! `order` option, `first`/`last`, negative orders and the sort Salt uses).
//!
//! [`compile_high_data_owned`] moves the arguments out of the high data
//! instead of copying them (the high data of a `show_lowstate` run is not
//! needed afterwards); both entry points give the same chunks.

use super::util::{k, pstr, starts};
use crate::value::{Map, Value};
use std::borrow::Cow;

/// The keys every chunk gets, made once per compile (each chunk still owns
/// its copies).
struct Keys {
    state: Value,
    name: Value,
    id: Value,
    fun: Value,
    name_order: Value,
    /// `__sls__`, `__env__`, `__sls_included_from__`, copied from the body.
    from_body: [Value; 3],
}

impl Keys {
    fn new() -> Keys {
        Keys {
            state: k("state"),
            name: k("name"),
            id: k("__id__"),
            fun: k("fun"),
            name_order: k("name_order"),
            from_body: [k("__sls__"), k("__env__"), k("__sls_included_from__")],
        }
    }
}

/// `__sls__`, `__env__`, `__sls_included_from__` of a body (key, value),
/// copied into each of its chunks.
type Base<'b> = [Option<(&'b Value, &'b Value)>; 3];

/// `compile_high_data`: the ordered low chunks.
pub fn compile_high_data(high: &Map) -> Vec<Value> {
    let keys = Keys::new();
    let mut chunks: Vec<Map> = Vec::new();
    for (name, body) in high {
        if starts(name, "__") {
            continue;
        }
        let Value::Map(body) = body else { continue };
        let base: Base<'_> = std::array::from_fn(|i| {
            body.get(&keys.from_body[i])
                .map(|v| (&keys.from_body[i], v))
        });
        for (state, run) in body {
            if starts(state, "__") {
                continue;
            }
            state_chunks(
                name,
                Cow::Borrowed(state),
                Cow::Borrowed(run),
                &base,
                &keys,
                &mut chunks,
            );
        }
    }
    finish(chunks)
}

/// [`compile_high_data`], consuming the high data: argument values are
/// moved into the chunks rather than copied.
pub fn compile_high_data_owned(high: Map) -> Vec<Value> {
    let keys = Keys::new();
    let mut chunks: Vec<Map> = Vec::with_capacity(high.len());
    let mut states: Vec<(Value, Value)> = Vec::new();
    for (name, body) in high {
        if starts(&name, "__") {
            continue;
        }
        let Value::Map(body) = body else { continue };
        // The `__` keys may follow the states: set them aside first.
        let mut from_body: [Option<Value>; 3] = Default::default();
        states.clear();
        for (key, v) in body {
            if starts(&key, "__") {
                if let Some(i) = keys.from_body.iter().position(|b| *b == key) {
                    from_body[i] = Some(v);
                }
            } else {
                states.push((key, v));
            }
        }
        let base: Base<'_> =
            std::array::from_fn(|i| from_body[i].as_ref().map(|v| (&keys.from_body[i], v)));
        for (state, run) in states.drain(..) {
            state_chunks(
                &name,
                Cow::Owned(state),
                Cow::Owned(run),
                &base,
                &keys,
                &mut chunks,
            );
        }
    }
    finish(chunks)
}

fn finish(chunks: Vec<Map>) -> Vec<Value> {
    order_chunks(chunks).into_iter().map(Value::Map).collect()
}

/// A value taken out of a `Cow`: moved when owned, cloned when borrowed.
fn take(v: Cow<'_, Value>) -> Value {
    v.into_owned()
}

/// The entries of a map argument, moved or borrowed.
enum Entries<'a> {
    Borrowed(indexmap::map::Iter<'a, Value, Value>),
    Owned(indexmap::map::IntoIter<Value, Value>),
    Empty,
}

impl<'a> Entries<'a> {
    fn of(m: Cow<'a, Value>) -> Entries<'a> {
        match m {
            Cow::Borrowed(Value::Map(m)) => Entries::Borrowed(m.iter()),
            Cow::Owned(Value::Map(m)) => Entries::Owned(m.into_iter()),
            _ => Entries::Empty,
        }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = (Cow<'a, Value>, Cow<'a, Value>);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Entries::Borrowed(it) => it.next().map(|(a, b)| (Cow::Borrowed(a), Cow::Borrowed(b))),
            Entries::Owned(it) => it.next().map(|(a, b)| (Cow::Owned(a), Cow::Owned(b))),
            Entries::Empty => None,
        }
    }
}

/// The items of a list, moved or borrowed.
enum Items<'a> {
    Borrowed(std::slice::Iter<'a, Value>),
    Owned(std::vec::IntoIter<Value>),
}

impl<'a> Iterator for Items<'a> {
    type Item = Cow<'a, Value>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Items::Borrowed(it) => it.next().map(Cow::Borrowed),
            Items::Owned(it) => it.next().map(Cow::Owned),
        }
    }
}

/// The chunks of one `state: [args]` entry of ID `name`, appended to
/// `chunks` (not yet ordered).
fn state_chunks(
    name: &Value,
    state: Cow<'_, Value>,
    run: Cow<'_, Value>,
    base: &Base<'_>,
    keys: &Keys,
    chunks: &mut Vec<Map>,
) {
    let Value::List(list) = &*run else { return };
    // Room for the base keys, the arguments, `name_order`, `fun` and `order`.
    let args: usize = list
        .iter()
        .map(|a| match a {
            Value::Map(m) => m.len(),
            _ => 0,
        })
        .sum();
    let run = match run {
        Cow::Borrowed(Value::List(l)) => Items::Borrowed(l.iter()),
        Cow::Owned(Value::List(l)) => Items::Owned(l.into_iter()),
        _ => return,
    };
    let mut chunk = Map::with_capacity_and_hasher(base.len() + args + 6, Default::default());
    chunk.insert(keys.state.clone(), take(state));
    chunk.insert(keys.name.clone(), name.clone());
    for (key, v) in base.iter().flatten() {
        chunk.insert((*key).clone(), (*v).clone());
    }
    chunk.insert(keys.id.clone(), name.clone());
    let mut funcs: Vec<Value> = Vec::new();
    let mut names: Vec<Value> = Vec::new();
    for arg in run {
        match &*arg {
            Value::Str(_) if !funcs.contains(&*arg) => funcs.push(take(arg)),
            Value::Str(_) => {}
            Value::Map(_) => {
                for (key, val) in Entries::of(arg) {
                    match key.as_str() {
                        Some("names") => {
                            let items: Vec<Value> = match val {
                                Cow::Owned(Value::List(l)) => l,
                                Cow::Owned(Value::Map(m)) => m.into_keys().collect(),
                                other => match &*other {
                                    Value::List(l) => l.clone(),
                                    Value::Str(s) => {
                                        s.chars().map(|c| Value::Str(c.to_string())).collect()
                                    }
                                    Value::Map(m) => m.keys().cloned().collect(),
                                    _ => vec![],
                                },
                            };
                            for n in items {
                                if !names.contains(&n) {
                                    names.push(n);
                                }
                            }
                        }
                        Some("state") => {}
                        Some("name") if !matches!(&*val, Value::Str(_)) => {
                            chunk.insert(take(key), name.clone());
                        }
                        _ => {
                            chunk.insert(take(key), take(val));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !names.is_empty() {
        let last_name = names.len() - 1;
        for (i, entry) in names.into_iter().enumerate() {
            let mut live = if i == last_name {
                std::mem::take(&mut chunk)
            } else {
                chunk.clone()
            };
            match entry {
                Value::Map(em) => {
                    if let Some((low_name, extra)) = em.into_iter().next() {
                        live.insert(keys.name.clone(), low_name);
                        if let Value::List(upds) = extra {
                            for u in upds {
                                if let Value::Map(um) = u {
                                    for (uk, uv) in um {
                                        live.insert(uk, uv);
                                    }
                                }
                            }
                        }
                    }
                }
                other => {
                    live.insert(keys.name.clone(), other);
                }
            }
            live.insert(keys.name_order.clone(), Value::Int(i as i128 + 1));
            push_funs(live, &funcs, keys, chunks);
        }
    } else {
        push_funs(chunk, &funcs, keys, chunks);
    }
}

/// One chunk per function; the last function takes `chunk` itself.
fn push_funs(mut chunk: Map, funcs: &[Value], keys: &Keys, chunks: &mut Vec<Map>) {
    let Some((last, rest)) = funcs.split_last() else {
        return;
    };
    for fun in rest {
        let mut c = chunk.clone();
        c.insert(keys.fun.clone(), fun.clone());
        chunks.push(c);
    }
    chunk.insert(keys.fun.clone(), last.clone());
    chunks.push(chunk);
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Bool(b) => Some(*b as i64 as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// `chunk[key]`, looked for at index `hint` first (the chunks built here
/// have `state` at 0, `name` at 1 and `fun` last).
fn find<'c>(c: &'c Map, hint: usize, key: &Value) -> Option<&'c Value> {
    match c.get_index(hint) {
        Some((k, v)) if k == key => Some(v),
        _ => c.get(key),
    }
}

/// `"{0[state]}{0[name]}{0[fun]}".format(chunk)` (missing keys as empty).
fn sort_name(c: &Map, keys: &[Value; 3]) -> String {
    let hints = [0, 1, c.len().saturating_sub(1)];
    let parts: [Option<&Value>; 3] = std::array::from_fn(|i| find(c, hints[i], &keys[i]));
    let len = parts
        .iter()
        .map(|p| match p {
            Some(Value::Str(s)) => s.len(),
            _ => 8,
        })
        .sum();
    let mut out = String::with_capacity(len);
    for part in parts.into_iter().flatten() {
        match part {
            Value::Str(s) => out.push_str(s),
            other => out.push_str(&pstr(other)),
        }
    }
    out
}

/// `order_chunks`: resolve `order` values and sort by
/// `(order, state + name + fun)`.
pub fn order_chunks(chunks: Vec<Map>) -> Vec<Map> {
    let order_key = k("order");
    let name_order_key = k("name_order");
    let name_keys = [k("state"), k("name"), k("fun")];
    let order_at: Vec<Option<usize>> = chunks.iter().map(|c| c.get_index_of(&order_key)).collect();
    let mut cap: i128 = 1;
    for (chunk, at) in chunks.iter().zip(&order_at) {
        if let Some((_, o)) = at.and_then(|i| chunk.get_index(i)) {
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
    let mut keyed: Vec<(f64, String, Map)> = Vec::with_capacity(chunks.len());
    for (mut chunk, at) in chunks.into_iter().zip(order_at) {
        // `order` and `name_order` do not change state, name or fun.
        let name = sort_name(&chunk, &name_keys);
        let Some(mut at) = at else {
            chunk.insert(order_key.clone(), Value::Int(cap));
            keyed.push((cap as f64, name, chunk));
            continue;
        };
        let mut o = match chunk.get_index(at).map(|(_, o)| o) {
            Some(o @ (Value::Int(_) | Value::Float(_) | Value::Bool(_))) => o.clone(),
            Some(Value::Str(s)) if s == "last" => Value::Int(cap + 1_000_000),
            Some(Value::Str(s)) if s == "first" => Value::Int(0),
            _ => Value::Int(cap),
        };
        if let Some((removed, _, no)) = chunk.shift_remove_full(&name_order_key) {
            if removed < at {
                at -= 1;
            }
            let base = num(&o).unwrap_or(0.0);
            o = Value::Float(base + num(&no).unwrap_or(0.0) / 10000.0);
        }
        if num(&o).is_some_and(|n| n < 0.0) {
            o = match o {
                Value::Float(f) => Value::Float((cap + 1_000_000) as f64 + f),
                other => Value::Int(cap + 1_000_000 + other.as_int().unwrap_or(0)),
            };
        }
        let sort_order = num(&o).unwrap_or(0.0);
        if let Some((_, slot)) = chunk.get_index_mut(at) {
            *slot = o;
        }
        keyed.push((sort_order, name, chunk));
    }
    keyed.sort_by(|a, b| {
        a.0.partial_cmp(&b.0)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.1.cmp(&b.1))
    });
    keyed.into_iter().map(|(_, _, c)| c).collect()
}
