//! `mine` (salt/modules/mine.py): `mine.get` asks the master (`_mine_get`)
//! when the minion has one, and is `{}` without; `mine.update` runs the
//! `mine_functions` and sends the results (`_mine`).

use super::{bind, Context, ModFn};
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[("get", get), ("update", update), ("send", send)];

fn s(v: &str) -> Value {
    Value::from(v)
}

/// `mine.get tgt fun [tgt_type]`: the master's mine data for the minions
/// `tgt` matches.
fn get(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "mine.get",
        &["tgt", "fun", "tgt_type", "exclude_minion"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let Some(remote) = ctx.remote() else {
        return Ok(Value::map());
    };
    let mut load = Map::default();
    load.insert(s("cmd"), s("_mine_get"));
    load.insert(s("id"), s(ctx.id()));
    load.insert(s("tgt"), b.get(0, Value::Null));
    load.insert(s("fun"), b.get(1, Value::Null));
    load.insert(s("tgt_type"), b.get(2, s("glob")));
    let mut ret = remote.request(load)?;
    if b.opt(3).is_some_and(super::is_true) {
        if let Value::Map(m) = &mut ret {
            m.shift_remove(&s(ctx.id()));
        }
    }
    Ok(ret)
}

/// One `mine_functions` entry: the function to call and its arguments
/// (a list of positional values and `{key: value}` kwargs, with
/// `mine_function` naming another function), as `mine.update` reads it.
pub fn mine_call(name: &str, spec: &Value) -> (String, Vec<Value>, Map) {
    let mut fun = name.to_string();
    let mut args = Vec::new();
    let mut kwargs = Map::default();
    match spec {
        Value::List(items) => {
            for it in items {
                match it {
                    Value::Map(m) => {
                        for (k, v) in m {
                            if k.as_str() == Some("mine_function") {
                                if let Some(f) = v.as_str() {
                                    fun = f.to_string();
                                }
                            } else {
                                kwargs.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    other => args.push(other.clone()),
                }
            }
        }
        Value::Map(m) => {
            for (k, v) in m {
                if k.as_str() == Some("mine_function") {
                    if let Some(f) = v.as_str() {
                        fun = f.to_string();
                    }
                } else {
                    kwargs.insert(k.clone(), v.clone());
                }
            }
        }
        _ => {}
    }
    (fun, args, kwargs)
}

/// The results of `mine_functions` (a failing function is left out, as
/// Salt logs and skips it).
pub fn collect(ctx: &Context) -> Map {
    let mut data = Map::default();
    let funcs = ctx
        .opts
        .get("mine_functions")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    for (name, spec) in funcs {
        let name = brine_core::output::pyrepr::str_of(&name);
        let (fun, args, kwargs) = mine_call(&name, &spec);
        match ctx.call_raw(&fun, args, kwargs) {
            Ok(v) => {
                data.insert(s(&name), v);
            }
            Err(e) => tracing::error!("Function {fun} in mine_functions failed to execute: {e}"),
        }
    }
    data
}

/// `mine.update [clear]`: run `mine_functions` and send them to the master.
fn update(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "mine.update",
        &["clear", "mine_functions"],
        0,
        false,
        false,
        args,
        kwargs,
    )?;
    let Some(remote) = ctx.remote() else {
        return Ok(Value::Bool(false));
    };
    let data = collect(ctx);
    let mut load = Map::default();
    load.insert(s("cmd"), s("_mine"));
    load.insert(s("data"), Value::Map(data));
    load.insert(s("id"), s(ctx.id()));
    load.insert(
        s("clear"),
        Value::Bool(b.opt(0).is_some_and(super::is_true)),
    );
    remote.request(load)
}

/// `mine.send name [mine_function=fun] args...`: one function's result.
fn send(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let mut args = args.into_iter();
    let Some(name) = args.next() else {
        return Err(super::invalid_args(
            "send() missing 1 required positional argument: 'name'",
        ));
    };
    let name = brine_core::output::pyrepr::str_of(&name);
    let mut kwargs = kwargs;
    kwargs.retain(|k, _| !k.as_str().is_some_and(|x| x.starts_with("__pub_")));
    let fun = kwargs
        .shift_remove(&s("mine_function"))
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| name.clone());
    let Some(remote) = ctx.remote() else {
        return Ok(Value::Bool(false));
    };
    let v = ctx.call_raw(&fun, args.collect(), kwargs)?;
    let mut data = Map::default();
    data.insert(s(&name), v);
    let mut load = Map::default();
    load.insert(s("cmd"), s("_mine"));
    load.insert(s("data"), Value::Map(data));
    load.insert(s("id"), s(ctx.id()));
    remote.request(load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mine_function_specs() {
        let spec = Value::List(vec![Value::from("eth0"), {
            let mut m = Map::default();
            m.insert(s("mine_function"), s("network.ip_addrs"));
            Value::Map(m)
        }]);
        let (f, a, k) = mine_call("ips", &spec);
        assert_eq!(f, "network.ip_addrs");
        assert_eq!(a, vec![Value::from("eth0")]);
        assert!(k.is_empty());
        let (f, a, _) = mine_call("test.ping", &Value::List(vec![]));
        assert_eq!((f.as_str(), a.len()), ("test.ping", 0));
    }
}
