//! `pillar` (salt/modules/pillar.py): items, get, item, raw.

use super::{bind, traverse, Context, ModFn};
use brine_core::config::dictupdate;
use brine_core::output::pyrepr::{repr, str_of};
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("items", items),
    ("get", get),
    ("item", item),
    ("raw", raw),
    ("file_exists", file_exists),
];

/// The pillar for a call: the minion's, or one compiled for another
/// `pillarenv`/`saltenv`, with a `pillar=` override merged over it.
pub fn pillar_for(
    ctx: &Context,
    saltenv: Option<&Value>,
    pillarenv: Option<&Value>,
    over: Option<&Value>,
) -> Value {
    let mut pillar = if saltenv.is_none() && pillarenv.is_none() {
        (*ctx.pillar()).clone()
    } else {
        let mut opts = ctx.opts.clone();
        if let Some(m) = opts.as_map_mut() {
            let from_saltenv = m
                .get(&Value::from("pillarenv_from_saltenv"))
                .is_some_and(Value::truthy);
            let env = match (pillarenv, saltenv) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(s)) if from_saltenv => Some(s.clone()),
                _ => None,
            };
            if let Some(env) = env {
                m.insert(Value::from("pillarenv"), env);
            }
            if let Some(s) = saltenv {
                m.insert(Value::from("saltenv"), s.clone());
            }
        }
        ctx.compile_pillar(&opts)
    };
    if let (Some(Value::Map(o)), Value::Map(p)) = (over, &mut pillar) {
        dictupdate(p, o, false);
    }
    pillar
}

fn items(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("pillar.items", &[], 0, true, true, args, kwargs)?;
    let kw = |k: &str| b.kwargs.get(&Value::from(k)).filter(|v| !v.is_null());
    for k in b.kwargs.keys() {
        let ok = matches!(
            k.as_str(),
            Some("pillar" | "pillar_enc" | "pillarenv" | "saltenv")
        );
        if !ok {
            return Err(super::invalid_args(format!(
                "items() got an unexpected keyword argument '{}'",
                str_of(k)
            )));
        }
    }
    if !b.rest.is_empty() {
        let mut kwargs = Map::default();
        for k in ["pillarenv", "saltenv"] {
            if let Some(v) = kw(k) {
                kwargs.insert(Value::from(k), v.clone());
            }
        }
        return item(ctx, b.rest.clone(), kwargs);
    }
    let pillarenv = kw("pillarenv").cloned().or_else(|| {
        let from_saltenv = ctx
            .opts
            .get("pillarenv_from_saltenv")
            .is_some_and(Value::truthy);
        if from_saltenv {
            kw("saltenv")
                .cloned()
                .or_else(|| ctx.opts.get("saltenv").filter(|v| !v.is_null()).cloned())
        } else {
            ctx.opts.get("pillarenv").filter(|v| !v.is_null()).cloned()
        }
    });
    Ok(pillar_for(
        ctx,
        kw("saltenv"),
        pillarenv.as_ref(),
        kw("pillar"),
    ))
}

fn get(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pillar.get",
        &[
            "key",
            "default",
            "merge",
            "merge_nested_lists",
            "delimiter",
            "pillarenv",
            "saltenv",
        ],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let key = b.get(0, Value::Null);
    let raise_missing = ctx
        .opts
        .get("pillar_raise_on_missing")
        .is_some_and(Value::truthy);
    let default = match &b.params[1] {
        Some(d) => Some(d.clone()),
        None if raise_missing => None,
        None => Some(Value::from("")),
    };
    let merge_lists = match b.opt(3) {
        Some(v) => v.truthy(),
        None => ctx
            .opts
            .get("pillar_merge_lists")
            .is_some_and(Value::truthy),
    };
    let delimiter = b.str(4).unwrap_or(":".into());
    let pillar = pillar_for(ctx, b.opt(6), b.opt(5), None);
    if b.opt(2).is_some_and(Value::truthy) {
        let found = traverse(&pillar, &key, &delimiter);
        match &default {
            Some(Value::Map(d)) => {
                if let Some(Value::Map(r)) = &found {
                    let mut d = d.clone();
                    dictupdate(&mut d, r, merge_lists);
                    return Ok(Value::Map(d));
                }
                let got = found.unwrap_or(Value::map());
                merge_skipped("a dict", &Value::Map(d.clone()), &got);
            }
            Some(Value::List(d)) => {
                if let Some(Value::List(r)) = found {
                    let mut d = d.clone();
                    for x in r {
                        if !d.contains(&x) {
                            d.push(x);
                        }
                    }
                    return Ok(Value::List(d));
                }
                let got = found.unwrap_or(Value::List(vec![]));
                merge_skipped("a list", &Value::List(d.clone()), &got);
            }
            other => {
                let d = other.clone().unwrap_or_default();
                let msg = format!(
                    "pillar.get: Default ({}) is of type '{}', must be a dict or list to merge. Merge will be skipped.",
                    repr(&d),
                    d.type_name()
                );
                tracing::error!("{}", msg);
            }
        }
    }
    match (traverse(&pillar, &key, &delimiter), default) {
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d),
        (None, None) => Err(format!("Pillar key not found: {}", str_of(&key))),
    }
}

fn merge_skipped(kind: &str, default: &Value, got: &Value) {
    let msg = format!(
        "pillar.get: Default ({}) is {kind}, but the returned pillar value ({}) is of type '{}'. Merge will be skipped.",
        repr(default),
        repr(got),
        got.type_name()
    );
    tracing::error!("{}", msg);
}

fn item(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("pillar.item", &[], 0, true, true, args, kwargs)?;
    let kw = |k: &str| b.kwargs.get(&Value::from(k)).filter(|v| !v.is_null());
    let default = kw("default").cloned().unwrap_or(Value::from(""));
    let delimiter = kw("delimiter").map(str_of).unwrap_or(":".into());
    let pillar = pillar_for(ctx, kw("saltenv"), kw("pillarenv"), None);
    let mut ret = Map::default();
    for arg in &b.rest {
        ret.insert(
            arg.clone(),
            traverse(&pillar, arg, &delimiter).unwrap_or(default.clone()),
        );
    }
    Ok(Value::Map(ret))
}

fn raw(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("pillar.raw", &["key"], 0, false, false, args, kwargs)?;
    let pillar = ctx.pillar();
    let pillar: &Value = &pillar;
    match b.opt(0).filter(|k| k.truthy()) {
        Some(k) => Ok(pillar
            .as_map()
            .and_then(|m| m.get(k))
            .cloned()
            .unwrap_or(Value::map())),
        None => Ok(pillar.clone()),
    }
}

/// `pillar.file_exists path [saltenv]`: whether `path` exists under a
/// pillar root.
fn file_exists(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pillar.file_exists",
        &["path", "saltenv"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let path = str_of(&b.get(0, Value::Null));
    let Some(Value::Map(roots)) = ctx.opts.get("pillar_roots").filter(|r| r.truthy()) else {
        return Err("No pillar_roots found. Are you running this on the master?".into());
    };
    let env = b.opt(1).filter(|v| v.truthy()).map(str_of);
    for (name, dirs) in roots {
        if env.as_ref().is_some_and(|e| *e != str_of(name)) {
            continue;
        }
        for dir in dirs.as_list().into_iter().flatten() {
            let full = crate::modules::file::py_join(&[str_of(dir), path.clone()]);
            if std::path::Path::new(&full).is_file() {
                return Ok(Value::Bool(true));
            }
        }
    }
    Ok(Value::Bool(false))
}
