//! `test` (salt/modules/test.py): ping, version, echo, true, false, arg,
//! kwarg, retcode, outputter, conf_test, arg_type, arg_repr.

use super::{bind, Context, ModFn};
use brine_core::value::{Map, Value};

/// The Salt version Brine is compatible with.
pub const SALT_VERSION: &str = "3007.8";

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("ping", ping),
    ("version", version),
    ("echo", echo),
    ("true", true_),
    ("false", false_),
    ("arg", arg),
    ("kwarg", kwarg),
    ("retcode", retcode),
    ("outputter", outputter),
    ("conf_test", conf_test),
    ("arg_type", arg_type),
    ("arg_repr", arg_repr),
];

fn ping(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("test.ping", &[], 0, false, false, args, kwargs)?;
    Ok(Value::Bool(true))
}

fn version(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("test.version", &[], 0, false, false, args, kwargs)?;
    Ok(Value::from(SALT_VERSION))
}

fn echo(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("test.echo", &["text"], 1, false, false, args, kwargs)?;
    Ok(b.get(0, Value::Null))
}

fn true_(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("test.true", &[], 0, false, false, args, kwargs)?;
    Ok(Value::Bool(true))
}

fn false_(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("test.false", &[], 0, false, false, args, kwargs)?;
    Ok(Value::Bool(false))
}

/// `test.arg`: `{"args": [...], "kwargs": {...}}`.
fn arg(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("test.arg", &[], 0, true, true, args, kwargs)?;
    let mut m = Map::default();
    m.insert(Value::from("args"), Value::List(b.rest));
    m.insert(Value::from("kwargs"), Value::Map(b.kwargs));
    Ok(Value::Map(m))
}

fn kwarg(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("test.kwarg", &[], 0, false, true, args, kwargs)?;
    Ok(Value::Map(b.kwargs))
}

/// `test.retcode code=42`: sets the job's retcode, returns True.
fn retcode(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("test.retcode", &["code"], 0, false, false, args, kwargs)?;
    let code = b.get(0, Value::Int(42));
    let code = match code {
        Value::Int(_) | Value::Bool(_) => code.as_int().unwrap_or(42),
        other => brine_core::output::pyrepr::str_of(&other)
            .trim()
            .parse::<i128>()
            .unwrap_or(1),
    };
    ctx.set_retcode(code as i32);
    Ok(Value::Bool(true))
}

fn outputter(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("test.outputter", &["data"], 1, false, false, args, kwargs)?;
    Ok(b.get(0, Value::Null))
}

/// `test.conf_test`: `config.option('test.foo')`, "unconfigured" by default.
fn conf_test(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("test.conf_test", &[], 0, false, false, args, kwargs)?;
    let key = Value::from("test.foo");
    for src in [&ctx.opts, ctx.grains(), &*ctx.pillar()] {
        if let Some(v) = src.as_map().and_then(|m| m.get(&key)) {
            return Ok(v.clone());
        }
    }
    Ok(Value::from("unconfigured"))
}

fn py_type(v: &Value) -> Value {
    Value::Str(format!("<class '{}'>", v.type_name()))
}

fn arg_type(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("test.arg_type", &[], 0, true, true, args, kwargs)?;
    let mut m = Map::default();
    m.insert(
        Value::from("args"),
        Value::List(b.rest.iter().map(py_type).collect()),
    );
    m.insert(
        Value::from("kwargs"),
        Value::Map(
            b.kwargs
                .iter()
                .map(|(k, v)| (k.clone(), py_type(v)))
                .collect(),
        ),
    );
    Ok(Value::Map(m))
}

fn arg_repr(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    use brine_core::output::pyrepr::repr;
    let b = bind("test.arg_repr", &[], 0, true, true, args, kwargs)?;
    let items: Vec<String> = b.rest.iter().map(repr).collect();
    let tuple = match items.len() {
        1 => format!("({},)", items[0]),
        _ => format!("({})", items.join(", ")),
    };
    let mut m = Map::default();
    m.insert(Value::from("args"), Value::Str(tuple));
    m.insert(
        Value::from("kwargs"),
        Value::Str(repr(&Value::Map(b.kwargs))),
    );
    Ok(Value::Map(m))
}
