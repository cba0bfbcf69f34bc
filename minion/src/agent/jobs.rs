//! One job from a publish: run the function(s) through the execution-module
//! registry in a fresh [`Context`] (grains shared, files and pillar from the
//! master) and build the return as Salt's `Minion._thread_return` /
//! `_thread_multi_return` and `_prepare_return_pub` do.

use crate::modules::{self, classify, Context, ErrorKind};
use brine_core::value::{Map, Value};
use std::sync::atomic::Ordering;

fn s(v: &str) -> Value {
    Value::from(v)
}

/// `salt.defaults.exitcodes.EX_GENERIC`.
const EX_GENERIC: i32 = 1;

/// The function's own outputter (`__outputter__`): the state runs print
/// with `highstate`.
pub fn outputter(fun: &str) -> Option<&'static str> {
    match fun {
        "state.sls"
        | "state.sls_id"
        | "state.pkg"
        | "state.top"
        | "state.single"
        | "state.highstate"
        | "state.template"
        | "state.template_str"
        | "state.apply"
        | "state.test"
        | "state.request"
        | "state.check_request"
        | "state.run_request" => Some("highstate"),
        _ => None,
    }
}

/// `load_args_and_kwargs`: `{"__kwarg__": True, ...}` entries become
/// keyword arguments, everything else is positional.
pub fn split_args(arg: &Value) -> (Vec<Value>, Map) {
    let mut args = Vec::new();
    let mut kwargs = Map::default();
    for a in arg.as_list().map(|l| l.as_slice()).unwrap_or(&[]) {
        match a {
            Value::Map(m) if m.get(&s("__kwarg__")).is_some_and(Value::truthy) => {
                for (k, v) in m {
                    if k.as_str() != Some("__kwarg__") {
                        kwargs.insert(k.clone(), v.clone());
                    }
                }
            }
            other => args.push(other.clone()),
        }
    }
    (args, kwargs)
}

/// Run one function: (return, retcode, out override).
fn run_one(
    ctx: &Context,
    fun: &str,
    arg: &Value,
    data: &Map,
) -> (Value, i32, Option<&'static str>) {
    if ctx.function(fun).is_none() {
        return (
            s(&modules::missing_fun_string(fun)),
            EX_GENERIC,
            Some("nested"),
        );
    }
    let (args, mut kwargs) = split_args(arg);
    let pubkey = |k: &str| data.get(&s(k)).cloned().unwrap_or(Value::Null);
    for (k, v) in [
        ("__pub_user", pubkey("user")),
        ("__pub_arg", arg.clone()),
        ("__pub_fun", s(fun)),
        ("__pub_jid", pubkey("jid")),
        ("__pub_tgt", pubkey("tgt")),
        ("__pub_tgt_type", pubkey("tgt_type")),
        ("__pub_ret", pubkey("ret")),
    ] {
        kwargs.insert(s(k), v);
    }
    ctx.set_retcode(0);
    match ctx.call_raw(fun, args, kwargs) {
        Ok(v) => {
            let mut rc = ctx.retcode.load(Ordering::SeqCst);
            if rc == 0 {
                if let Value::Map(m) = &v {
                    let failed = ["result", "success"]
                        .iter()
                        .any(|k| m.get(&s(k)).is_some_and(|x| !x.truthy()));
                    if failed {
                        rc = EX_GENERIC;
                    }
                }
            }
            (v, rc, None)
        }
        Err(e) => {
            let msg = match classify(&e) {
                ErrorKind::Execution(m) => format!("ERROR: {m}"),
                ErrorKind::Invocation(m) => format!("ERROR executing '{fun}': {m}"),
                ErrorKind::Args(m) => format!("Passed invalid arguments to {fun}: {m}\n"),
            };
            (s(&msg), EX_GENERIC, Some("nested"))
        }
    }
}

/// Run the job in `data` (a decoded publish load) and build the `_return`
/// load (`cmd`, `id`, `success`, `return`, `retcode`, `jid`, `fun`,
/// `fun_args`, and `out`, `user`, `master_id`, `metadata` when present).
pub fn run_job(ctx: &Context, data: &Map) -> Map {
    let fun = data.get(&s("fun")).cloned().unwrap_or(Value::Null);
    let arg = data
        .get(&s("arg"))
        .cloned()
        .unwrap_or(Value::List(Vec::new()));
    let mut ret = Map::default();
    ret.insert(s("cmd"), s("_return"));
    ret.insert(s("id"), s(ctx.id()));
    match &fun {
        Value::List(funs) => {
            // `_thread_multi_return`: one return, retcode and success per
            // function, args taken in order.
            let args = arg.as_list().cloned().unwrap_or_default();
            let mut r = Map::default();
            let mut rcs = Map::default();
            let mut oks = Map::default();
            for (i, f) in funs.iter().enumerate() {
                let name = f.as_str().unwrap_or("");
                let a = args.get(i).cloned().unwrap_or(Value::List(Vec::new()));
                let (v, rc, _) = run_one(ctx, name, &a, data);
                r.insert(s(name), v);
                rcs.insert(s(name), Value::Int(rc as i128));
                oks.insert(s(name), Value::Bool(rc == 0));
            }
            ret.insert(s("success"), Value::Map(oks));
            ret.insert(s("return"), Value::Map(r));
            ret.insert(s("retcode"), Value::Map(rcs));
        }
        _ => {
            let name = fun.as_str().unwrap_or("");
            let (v, rc, out) = run_one(ctx, name, &arg, data);
            ret.insert(s("success"), Value::Bool(rc == 0));
            ret.insert(s("return"), v);
            ret.insert(s("retcode"), Value::Int(rc as i128));
            if let Some(o) = out.or_else(|| outputter(name)) {
                ret.insert(s("out"), s(o));
            }
        }
    }
    ret.insert(
        s("jid"),
        data.get(&s("jid")).cloned().unwrap_or(Value::Null),
    );
    ret.insert(s("fun"), fun);
    ret.insert(s("fun_args"), arg);
    for k in ["user", "master_id"] {
        if let Some(v) = data.get(&s(k)) {
            ret.insert(s(k), v.clone());
        }
    }
    if let Some(Value::Map(m)) = data.get(&s("metadata")) {
        ret.insert(s("metadata"), Value::Map(m.clone()));
    }
    ret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_load_shape() {
        let ctx = Context::new(Value::map()).with_grains(Value::map());
        let mut data = Map::default();
        data.insert(s("fun"), s("test.ping"));
        data.insert(s("arg"), Value::List(vec![]));
        data.insert(s("jid"), s("20260101000000000000"));
        data.insert(s("user"), s("root"));
        let r = run_job(&ctx, &data);
        let keys: Vec<&str> = r.keys().filter_map(Value::as_str).collect();
        assert_eq!(
            keys,
            ["cmd", "id", "success", "return", "retcode", "jid", "fun", "fun_args", "user"]
        );
        assert_eq!(r.get(&s("return")), Some(&Value::Bool(true)));
        data.insert(s("fun"), s("no.such"));
        let r = run_job(&ctx, &data);
        assert_eq!(r.get(&s("retcode")), Some(&Value::Int(1)));
        assert_eq!(r.get(&s("return")), Some(&s("'no.such' is not available.")));
        let mut kw = Map::default();
        kw.insert(s("__kwarg__"), Value::Bool(true));
        kw.insert(s("a"), Value::Int(1));
        let (a, k) = split_args(&Value::List(vec![s("x"), Value::Map(kw)]));
        assert_eq!(a, vec![s("x")]);
        assert_eq!(k.get(&s("a")), Some(&Value::Int(1)));
    }
}
