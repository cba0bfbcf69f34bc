//! `match` (salt/modules/match.py): targeting checks from templates, with
//! this minion's id, grains and pillar. Errors are logged and give False.

use super::{bind, Context, ModFn};
use brine_core::matcher::{match_with_delimiter, matches, MatchContext};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("glob", glob),
    ("pcre", pcre),
    ("list", list),
    ("grain", grain),
    ("grain_pcre", grain_pcre),
    ("pillar", pillar),
    ("pillar_pcre", pillar_pcre),
    ("ipcidr", ipcidr),
    ("compound", compound),
];

fn run(
    ctx: &Context,
    tgt: &Value,
    tgt_type: &str,
    delimiter: Option<&str>,
    id: Option<String>,
) -> Value {
    let pillar = ctx.pillar();
    let nodegroups = ctx.opts.get("nodegroups").cloned().unwrap_or_default();
    let id = id.unwrap_or_else(|| ctx.id().to_string());
    let mctx = MatchContext {
        id: &id,
        grains: ctx.grains(),
        pillar: &pillar,
        nodegroups: &nodegroups,
    };
    let res = match delimiter {
        Some(d) => match_with_delimiter(tgt, tgt_type, d, &mctx),
        None => matches(tgt, tgt_type, &mctx),
    };
    match res {
        Ok(b) => Value::Bool(b),
        Err(e) => {
            tracing::error!("{}", e);
            Value::Bool(false)
        }
    }
}

/// `fun(tgt, minion_id=None)`.
fn by_id(
    fun: &str,
    tgt_type: &str,
    ctx: &Context,
    args: Vec<Value>,
    kwargs: Map,
) -> Result<Value, String> {
    let b = bind(fun, &["tgt", "minion_id"], 1, false, false, args, kwargs)?;
    Ok(run(
        ctx,
        &b.get(0, Value::Null),
        tgt_type,
        None,
        b.opt(1).map(str_of),
    ))
}

/// `fun(tgt, delimiter=':')`.
fn by_data(
    fun: &str,
    tgt_type: &str,
    ctx: &Context,
    args: Vec<Value>,
    kwargs: Map,
) -> Result<Value, String> {
    let b = bind(fun, &["tgt", "delimiter"], 1, false, false, args, kwargs)?;
    let d = b.str(1).unwrap_or(":".into());
    Ok(run(ctx, &b.get(0, Value::Null), tgt_type, Some(&d), None))
}

fn glob(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    by_id("match.glob", "glob", ctx, args, kwargs)
}
fn pcre(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    by_id("match.pcre", "pcre", ctx, args, kwargs)
}
fn list(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    by_id("match.list", "list", ctx, args, kwargs)
}
fn compound(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    by_id("match.compound", "compound", ctx, args, kwargs)
}
fn grain(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    by_data("match.grain", "grain", ctx, args, kwargs)
}
fn grain_pcre(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    by_data("match.grain_pcre", "grain_pcre", ctx, args, kwargs)
}
fn pillar(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    by_data("match.pillar", "pillar", ctx, args, kwargs)
}
fn pillar_pcre(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    by_data("match.pillar_pcre", "pillar_pcre", ctx, args, kwargs)
}
fn ipcidr(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("match.ipcidr", &["tgt"], 1, false, false, args, kwargs)?;
    Ok(run(ctx, &b.get(0, Value::Null), "ipcidr", None, None))
}
