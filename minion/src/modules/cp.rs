//! `cp` (salt/modules/cp.py): list_master, list_master_dirs and
//! get_file_str over the local `file_roots`.

use super::{bind, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("list_master", list_master),
    ("list_master_dirs", list_master_dirs),
    ("get_file_str", get_file_str),
];

fn listing(
    ctx: &Context,
    fun: &str,
    args: Vec<Value>,
    kwargs: Map,
    dirs: bool,
) -> Result<Value, String> {
    let b = bind(fun, &["saltenv", "prefix"], 0, false, false, args, kwargs)?;
    let saltenv = match b.opt(0).filter(|v| v.truthy()) {
        Some(v) => str_of(v),
        None => ctx
            .opts
            .get("saltenv")
            .filter(|v| v.truthy())
            .map(str_of)
            .unwrap_or_else(|| "base".into()),
    };
    let prefix = b.str(1).unwrap_or_default().trim_matches('/').to_string();
    let client = ctx.file_client(&ctx.opts);
    let all = if dirs {
        client.list_dirs(&saltenv)
    } else {
        client.list_files(&saltenv)
    };
    Ok(Value::List(
        all.into_iter()
            .filter(|p| p.starts_with(&prefix))
            .map(Value::Str)
            .collect(),
    ))
}

fn list_master(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    listing(ctx, "cp.list_master", args, kwargs, false)
}

fn list_master_dirs(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    listing(ctx, "cp.list_master_dirs", args, kwargs, true)
}

/// `cp.get_file_str`: a `salt://` file's text (or a local file's), False
/// when it does not exist.
fn get_file_str(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "cp.get_file_str",
        &["path", "saltenv"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let path = str_of(&b.get(0, Value::Null));
    let saltenv = match b.opt(1).filter(|v| v.truthy()) {
        Some(v) => str_of(v),
        None => ctx
            .opts
            .get("saltenv")
            .filter(|v| v.truthy())
            .map(str_of)
            .unwrap_or_else(|| "base".into()),
    };
    let bytes = if let Some(rel) = path.strip_prefix("salt://") {
        let client = ctx.file_client(&ctx.opts);
        match client.get(rel, &saltenv) {
            Ok(Some(f)) => Some(f.bytes),
            _ => None,
        }
    } else if path.starts_with('/') {
        std::fs::read(&path).ok()
    } else {
        None
    };
    Ok(match bytes {
        Some(b) => Value::Str(String::from_utf8_lossy(&b).into_owned()),
        None => Value::Bool(false),
    })
}
