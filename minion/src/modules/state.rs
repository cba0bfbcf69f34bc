//! `state` (salt/modules/state.py), the compile-only functions:
//! show_top, show_highstate, show_lowstate, show_sls, show_low_sls.
//! Each builds a [`Compiler`] over `file_roots` with the call's opts, the
//! grains and the compiled pillar, and sets `__context__["retcode"]` the way
//! Salt does for compile errors.

use super::{bind, split_input, Context, ModFn};
use brine_core::compile::{Compiler, Errors};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("show_top", show_top),
    ("show_highstate", show_highstate),
    ("show_lowstate", show_lowstate),
    ("show_sls", show_sls),
    ("show_low_sls", show_low_sls),
    ("show_states", show_states),
    ("sls_exists", sls_exists),
];

/// `salt.defaults.exitcodes.EX_STATE_COMPILER_ERROR`.
const EX_STATE_COMPILER_ERROR: i32 = 1;
/// `EX_STATE_FAILURE`.
const EX_STATE_FAILURE: i32 = 2;
/// `EX_PILLAR_FAILURE`.
const EX_PILLAR_FAILURE: i32 = 5;

fn kw<'a>(kwargs: &'a Map, k: &str) -> Option<&'a Value> {
    kwargs.get(&Value::from(k))
}

/// `salt.utils.state.get_sls_opts`: the opts for this call.
fn sls_opts(ctx: &Context, kwargs: &Map) -> Result<Value, String> {
    let mut opts = ctx.opts.clone();
    let Some(m) = opts.as_map_mut() else {
        return Ok(opts);
    };
    if let Some(saltenv) = kw(kwargs, "saltenv").filter(|v| !v.is_null()) {
        let s = str_of(saltenv);
        let locked = m
            .get(&Value::from("lock_saltenv"))
            .is_some_and(Value::truthy);
        let current = m.get(&Value::from("saltenv")).cloned().unwrap_or_default();
        if locked && Value::from(s.as_str()) != current {
            return Err("lock_saltenv is enabled, saltenv cannot be changed".into());
        }
        m.insert(Value::from("saltenv"), saltenv.clone());
    }
    let from_saltenv = m
        .get(&Value::from("pillarenv_from_saltenv"))
        .is_some_and(Value::truthy);
    if kwargs.contains_key(&Value::from("pillarenv")) || from_saltenv {
        let p = kw(kwargs, "pillarenv")
            .filter(|v| v.truthy())
            .or_else(|| kw(kwargs, "saltenv"))
            .cloned()
            .unwrap_or(Value::Null);
        let p = match p {
            Value::Null | Value::Str(_) => p,
            other => Value::Str(str_of(&other)),
        };
        m.insert(Value::from("pillarenv"), p);
    }
    Ok(opts)
}

/// The pillar a `HighState` would compile for `opts` (with `pillar=`
/// override where the function takes one), or Salt's "Pillar failed to render" error.
fn highstate_pillar(
    ctx: &Context,
    opts: &Value,
    kwargs: &Map,
    overridable: bool,
) -> Result<Value, String> {
    let over = kw(kwargs, "pillar").filter(|v| overridable && !v.is_null());
    let enc = kw(kwargs, "pillar_enc").filter(|v| !v.is_null());
    if let Some(o) = over {
        if enc.is_none() && !matches!(o, Value::Map(_)) {
            // SaltInvocationError is a TypeError: salt-call reports it as
            // invalid arguments.
            return Err(super::invalid_args(
                "Pillar data must be formatted as a dictionary, unless pillar_enc is specified.",
            ));
        }
    }
    let same_env = opts.get("pillarenv") == ctx.opts.get("pillarenv");
    let mut pillar = if same_env {
        (*ctx.pillar()).clone()
    } else {
        ctx.compile_pillar(opts)
    };
    if let (Some(Value::Map(o)), Value::Map(p)) = (over, &mut pillar) {
        brine_core::config::dictupdate(p, o, false);
    }
    let force = kw(kwargs, "force").is_some_and(Value::truthy);
    if !force {
        if let Some(errors) = pillar.get("_errors").filter(|e| e.truthy()) {
            ctx.set_retcode(EX_PILLAR_FAILURE);
            let info = brine_core::output::nested::output(
                errors,
                &brine_core::output::NestedOptions::default(),
            );
            return Err(format!(
                "Pillar failed to render. Additional info follows:\n\n{info}"
            ));
        }
    }
    Ok(pillar)
}

/// Build the compiler for this call and run `f` with it.
fn with_compiler(
    ctx: &Context,
    opts: &Value,
    kwargs: &Map,
    overridable: bool,
    f: impl FnOnce(&Compiler) -> Result<Value, Errors>,
) -> Result<Result<Value, Errors>, String> {
    let pillar = highstate_pillar(ctx, opts, kwargs, overridable)?;
    // The opts a HighState sees carry the compiled pillar.
    let mut opts = opts.clone();
    if let Some(m) = opts.as_map_mut() {
        m.insert(Value::from("pillar"), pillar.clone());
        gen_opts(m);
    }
    let files = super::roots_client(&opts, "file_roots");
    let compiler = Compiler {
        opts: &opts,
        grains: ctx.grains(),
        pillar: &pillar,
        functions: ctx,
        file_client: &files,
    };
    Ok(ctx.with_active_opts(opts.clone(), || {
        ctx.with_active_pillar(pillar.clone(), || f(&compiler))
    }))
}

/// `BaseHighState.__gen_opts` with a local file client (the master opts are
/// the minion's own): `state_top` becomes a `salt://` URL and the master-only
/// `jinja_*` settings get their defaults. Skipped for `local_state`.
fn gen_opts(m: &mut Map) {
    if m.get(&Value::from("local_state"))
        .is_some_and(Value::truthy)
    {
        return;
    }
    let top = m
        .get(&Value::from("state_top"))
        .map(str_of)
        .unwrap_or_else(|| "top.sls".to_string());
    let top = if top.starts_with("salt://") {
        top
    } else {
        format!("salt://{}", top.strip_prefix('/').unwrap_or(&top))
    };
    m.insert(Value::from("state_top"), Value::from(top));
    for (key, default) in [
        ("jinja_env", Value::map()),
        ("jinja_sls_env", Value::map()),
        ("jinja_lstrip_blocks", Value::Bool(false)),
        ("jinja_trim_blocks", Value::Bool(false)),
    ] {
        let k = Value::from(key);
        if !m.contains_key(&k) {
            m.insert(k, default);
        }
    }
}

fn errors_value(errors: Errors) -> Value {
    Value::List(errors.into_iter().map(Value::Str).collect())
}

fn no_positional(fun: &str, args: Vec<Value>, kwargs: Map) -> Result<Map, String> {
    let b = bind(fun, &["queue"], 0, false, true, args, kwargs)?;
    Ok(b.kwargs)
}

fn show_top(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let kwargs = no_positional("state.show_top", args, kwargs)?;
    let opts = sls_opts(ctx, &kwargs)?;
    match with_compiler(ctx, &opts, &kwargs, false, |c| c.top())? {
        Ok(v) => Ok(v),
        Err(e) => {
            ctx.set_retcode(EX_STATE_COMPILER_ERROR);
            Ok(errors_value(e))
        }
    }
}

fn show_highstate(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let kwargs = no_positional("state.show_highstate", args, kwargs)?;
    let opts = sls_opts(ctx, &kwargs)?;
    match with_compiler(ctx, &opts, &kwargs, true, |c| c.highstate())? {
        // `_set_retcode`: a list return is compile errors.
        Ok(v) => {
            let rc = match &v {
                Value::List(_) => EX_STATE_COMPILER_ERROR,
                // `state.check_result`: an empty or malformed highstate fails
                // (`__extend__` holds a list, every other id a dict).
                Value::Map(m)
                    if m.is_empty()
                        || m.iter().any(|(k, b)| {
                            if k.as_str() == Some("__extend__") {
                                !matches!(b, Value::List(_))
                            } else {
                                !matches!(b, Value::Map(_))
                            }
                        }) =>
                {
                    EX_STATE_FAILURE
                }
                _ => 0,
            };
            ctx.set_retcode(rc);
            Ok(v)
        }
        Err(e) => {
            ctx.set_retcode(EX_STATE_COMPILER_ERROR);
            Ok(errors_value(e))
        }
    }
}

fn show_lowstate(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let kwargs = no_positional("state.show_lowstate", args, kwargs)?;
    let opts = sls_opts(ctx, &kwargs)?;
    // Salt returns compile errors here without touching the retcode.
    Ok(with_compiler(ctx, &opts, &kwargs, false, |c| c.lowstate())?.unwrap_or_else(errors_value))
}

fn sls_like(
    fun: &str,
    ctx: &Context,
    args: Vec<Value>,
    kwargs: Map,
    low: bool,
) -> Result<Value, String> {
    let b = bind(
        fun,
        &["mods", "test", "queue"],
        1,
        false,
        true,
        args,
        kwargs,
    )?;
    let mut kwargs = b.kwargs.clone();
    kwargs.shift_remove(&Value::from("env"));
    let mods = split_input(&b.get(0, Value::Null));
    let mut opts = sls_opts(ctx, &kwargs)?;
    // Fall back to 'base' when no saltenv is configured or passed.
    let saltenv = match opts.get("saltenv") {
        Some(Value::Null) | None => {
            if let Some(m) = opts.as_map_mut() {
                m.insert(Value::from("saltenv"), Value::from("base"));
            }
            "base".to_string()
        }
        Some(v) => str_of(v),
    };
    let res = with_compiler(ctx, &opts, &kwargs, true, |c| {
        if low {
            c.low_sls(&mods, &saltenv)
        } else {
            c.sls(&mods, &saltenv)
        }
    })?;
    match res {
        Ok(v) => Ok(v),
        Err(e) => {
            ctx.set_retcode(EX_STATE_COMPILER_ERROR);
            Ok(errors_value(e))
        }
    }
}

fn show_sls(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    sls_like("state.show_sls", ctx, args, kwargs, false)
}

fn show_low_sls(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    sls_like("state.show_low_sls", ctx, args, kwargs, true)
}

/// `state.show_states`: the SLS names of the lowstate, in order, without
/// duplicates (compile errors are returned with retcode 1).
fn show_states(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let kwargs = no_positional("state.show_states", args, kwargs)?;
    let opts = sls_opts(ctx, &kwargs)?;
    let low =
        with_compiler(ctx, &opts, &kwargs, false, |c| c.lowstate())?.unwrap_or_else(errors_value);
    let Value::List(chunks) = low else {
        return Err(brine_core::output::pyrepr::repr(&low));
    };
    let mut names: Vec<Value> = Vec::new();
    for chunk in &chunks {
        let Value::Map(m) = chunk else {
            ctx.set_retcode(EX_STATE_COMPILER_ERROR);
            return Ok(Value::List(chunks));
        };
        let sls = m.get(&Value::from("__sls__")).cloned().unwrap_or_default();
        if !names.contains(&sls) {
            names.push(sls);
        }
    }
    Ok(Value::List(names))
}

/// `state.sls_exists mods`: whether `show_sls` compiles to a highstate.
fn sls_exists(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let ret = sls_like("state.sls_exists", ctx, args, kwargs, false)?;
    Ok(Value::Bool(matches!(ret, Value::Map(_))))
}
