//! `environ` (salt/modules/environ.py): `environ.get`.

use super::{bind, Context, ModFn};
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[("get", get)];

fn get(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "environ.get",
        &["key", "default"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let Value::Str(key) = b.get(0, Value::Null) else {
        return Ok(Value::Bool(false));
    };
    Ok(std::env::var(&key)
        .map(Value::Str)
        .unwrap_or_else(|_| b.get(1, Value::from(""))))
}
