//! `log` (salt/modules/logmod.py): log a message from a template; every
//! function returns True.

use super::{bind, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("debug", debug),
    ("info", info),
    ("warning", warning),
    ("error", error),
    ("critical", critical),
    ("exception", exception),
];

fn message(fun: &str, args: Vec<Value>, kwargs: Map) -> Result<String, String> {
    let b = bind(fun, &["message"], 1, false, false, args, kwargs)?;
    Ok(str_of(&b.get(0, Value::Null)))
}

fn debug(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let m = message("log.debug", args, kwargs)?;
    tracing::debug!("{}", m);
    Ok(Value::Bool(true))
}

fn info(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let m = message("log.info", args, kwargs)?;
    tracing::info!("{}", m);
    Ok(Value::Bool(true))
}

fn warning(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let m = message("log.warning", args, kwargs)?;
    tracing::warn!("{}", m);
    Ok(Value::Bool(true))
}

fn error(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let m = message("log.error", args, kwargs)?;
    tracing::error!("{}", m);
    Ok(Value::Bool(true))
}

fn critical(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let m = message("log.critical", args, kwargs)?;
    tracing::error!("{}", m);
    Ok(Value::Bool(true))
}

fn exception(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let m = message("log.exception", args, kwargs)?;
    tracing::error!("{}", m);
    Ok(Value::Bool(true))
}
