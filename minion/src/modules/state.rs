//! `state` (salt/modules/state.py).
//!
//! The compile-only functions (show_top, show_highstate, show_lowstate,
//! show_sls, show_low_sls, show_states, sls_exists) build a [`Compiler`]
//! over `file_roots` with the call's opts, the grains and the compiled
//! pillar, and set `__context__["retcode"]` the way Salt does for compile
//! errors.
//!
//! The running functions (apply, sls, highstate, single, test) also take
//! the run lock (`_check_queue`), decide test mode (`_get_test_value`),
//! hand the chunks to the state runtime ([`crate::runtime`]) and set the
//! retcode from the results (`_set_retcode`: 1 for compile errors or a
//! conflicting run, 2 for a failed state, 5 for pillar errors). `running`
//! reports a run in progress.

use super::{bind, is_true, split_input, Context, ModFn};
use crate::runtime::lock::{self, Queue, RunLock};
use crate::runtime::result::{check_result, filter_running};
use crate::runtime::{Env, RunError, State};
use brine_core::compile::{Compiler, Errors, HighstatePlan, RunPlan};
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
    ("apply", apply),
    ("sls", sls),
    ("highstate", highstate),
    ("single", single),
    ("test", test),
    ("running", running),
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
    let pillar = compiled_pillar(ctx, opts, kwargs, overridable)?;
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

/// The pillar for `opts` (the minion's, or compiled for another
/// `pillarenv`) with the `pillar=` override merged over it; the override
/// must be a dict unless `pillar_enc` is given.
fn compiled_pillar(
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
    brine_core::phase("with_compiler");
    let _ = ctx.grains();
    brine_core::phase("grains");
    let pillar = highstate_pillar(ctx, opts, kwargs, overridable)?;
    brine_core::phase("pillar");
    // The opts a HighState sees carry the compiled pillar.
    let mut opts = opts.clone();
    if let Some(m) = opts.as_map_mut() {
        m.insert(Value::from("pillar"), pillar.clone());
        gen_opts(m);
    }
    let files = ctx.file_client(&opts);
    let compiler = Compiler {
        opts: &opts,
        grains: ctx.grains(),
        pillar: &pillar,
        functions: ctx,
        file_client: &*files,
    };
    Ok(ctx.with_active_opts(opts.clone(), || {
        ctx.with_active_pillar(pillar.clone(), || f(&compiler))
    }))
}

/// `BaseHighState.__gen_opts` with a local file client (the master opts are
/// the minion's own): `state_top` becomes a `salt://` URL and the master-only
/// `jinja_*` settings get their defaults. Skipped for `local_state`.
pub(crate) fn gen_opts(m: &mut Map) {
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

/// `_check_queue`: take the run lock (waiting when `queue` says so), or
/// return Salt's conflict list with retcode 1.
fn check_queue(
    ctx: &Context,
    fun: &str,
    queue: Option<&Value>,
    kwargs: &Map,
) -> Result<Option<RunLock>, Value> {
    if kw(kwargs, "concurrent").is_some_and(Value::truthy) {
        return Ok(None);
    }
    let queue = match queue.filter(|q| !q.is_null()) {
        Some(q) => q.clone(),
        None => ctx.opts.get("state_queue").cloned().unwrap_or(Value::Null),
    };
    let queue = match queue {
        Value::Bool(true) => Queue::Wait,
        Value::Int(n) => Queue::Max(n),
        _ => Queue::No,
    };
    let cachedir = ctx
        .opts
        .get("cachedir")
        .map(str_of)
        .unwrap_or_else(|| "/var/cache/salt/minion".into());
    // The lock records the job's function, as Salt's proc file does.
    let job_fun = kw(kwargs, "__pub_fun")
        .or_else(|| ctx.opts.get("fun"))
        .map(str_of)
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| fun.to_string());
    lock::acquire(std::path::Path::new(&cachedir), &job_fun, queue).map_err(|conflict| {
        ctx.set_retcode(EX_STATE_COMPILER_ERROR);
        Value::List(conflict.0.into_iter().map(Value::Str).collect())
    })
}

/// `_get_test_value`: an explicit `test` wins (anything but False means
/// test mode); else a `test` kwarg in any case, `test: True` in the grains
/// or pillar, then the minion's `test` option.
fn test_value(ctx: &Context, test: Option<&Value>, kwargs: &Map) -> bool {
    match test {
        None | Some(Value::Null) => {
            let kwarg = kwargs
                .iter()
                .any(|(key, v)| str_of(key).to_lowercase() == "test" && is_true(v));
            if kwarg {
                return true;
            }
            let pillar = ctx.pillar();
            let configured = ctx.grains().get("test").or_else(|| pillar.get("test"));
            if matches!(configured, Some(Value::Bool(true))) {
                return true;
            }
            ctx.opts.get("test").is_some_and(Value::truthy)
        }
        Some(Value::Bool(false)) => false,
        Some(_) => true,
    }
}

/// `_set_retcode`: 1 for a list (errors), 2 when a state failed.
fn set_run_retcode(ctx: &Context, ret: &Value, high: Option<&Map>) {
    let rc = match ret {
        Value::List(_) => EX_STATE_COMPILER_ERROR,
        _ if !check_result(ret, high) => EX_STATE_FAILURE,
        _ => 0,
    };
    ctx.set_retcode(rc);
}

/// The opts, pillar and file client of one state run.
struct RunSetup {
    opts: Value,
    pillar: Value,
    files: std::sync::Arc<dyn brine_core::fileclient::FileClient>,
    test: bool,
}

/// Compile the pillar (with the `pillar=` override) and the run's opts;
/// `Ok(Err(list))` is Salt's "Pillar failed to render" answer (retcode 5).
fn setup_run(
    ctx: &Context,
    opts: &Value,
    kwargs: &Map,
    test: bool,
    check_pillar: bool,
) -> Result<Result<RunSetup, Value>, String> {
    let pillar = compiled_pillar(ctx, opts, kwargs, true)?;
    if check_pillar && !kw(kwargs, "force").is_some_and(Value::truthy) {
        if let Some(Value::List(errors)) = pillar.get("_errors").filter(|e| e.truthy()) {
            ctx.set_retcode(EX_PILLAR_FAILURE);
            let mut out = vec![Value::from(brine_core::compile::PILLAR_FAILED)];
            out.extend(errors.iter().cloned());
            return Ok(Err(Value::List(out)));
        }
    }
    let mut opts = opts.clone();
    if let Some(m) = opts.as_map_mut() {
        m.insert(Value::from("pillar"), pillar.clone());
        m.insert(Value::from("test"), Value::Bool(test));
        gen_opts(m);
    }
    let files = ctx.file_client(&opts);
    Ok(Ok(RunSetup {
        opts,
        pillar,
        files,
        test,
    }))
}

impl RunSetup {
    /// Compile with `plan`, then run the chunks: the result dict, or the
    /// compile errors as a list (retcode 1).
    fn run(
        &self,
        ctx: &Context,
        kwargs: &Map,
        plan: impl FnOnce(&Compiler) -> Result<Planned, Errors>,
    ) -> Result<Value, String> {
        let compiler = Compiler {
            opts: &self.opts,
            grains: ctx.grains(),
            pillar: &self.pillar,
            functions: ctx,
            file_client: &*self.files,
        };
        ctx.with_active_opts(self.opts.clone(), || {
            ctx.with_active_pillar(self.pillar.clone(), || {
                let planned = match plan(&compiler) {
                    Ok(p) => p,
                    Err(errors) => {
                        ctx.set_retcode(EX_STATE_COMPILER_ERROR);
                        return Ok(errors_value(errors));
                    }
                };
                let (ret, high) = match planned {
                    Planned::Result(ret) => (ret, None),
                    Planned::Run(plan) => {
                        ctx.set_retcode(0);
                        let mut state = State::new(Env {
                            ctx,
                            opts: &self.opts,
                            files: &*self.files,
                            test: self.test,
                            mocked: kw(kwargs, "mock").is_some_and(Value::truthy),
                        });
                        let running = state.call_high_chunks(plan.chunks).map_err(run_error)?;
                        (Value::Map(running), Some(plan.high))
                    }
                };
                let terse = kw(kwargs, "terse").is_some_and(Value::truthy)
                    || ctx.opts.get("state_data").and_then(Value::as_str) == Some("terse");
                let ret = match ret {
                    Value::Map(m) if terse => Value::Map(filter_running(&m)),
                    other => other,
                };
                set_run_retcode(ctx, &ret, high.as_ref());
                Ok(ret)
            })
        })
    }
}

/// What a compile produced: chunks to run, or an answer without running.
enum Planned {
    Run(RunPlan),
    Result(Value),
}

/// A run-aborting runtime error as the function's error.
fn run_error(e: RunError) -> String {
    match e {
        RunError::InvalidArgs(m) => super::invalid_args(m),
        RunError::Render(m) => m,
    }
}

/// Salt's result when a highstate has nothing to run.
fn no_states(comment: &str) -> Value {
    let mut r = Map::default();
    r.insert(Value::from("result"), Value::Bool(false));
    r.insert(Value::from("comment"), Value::from(comment));
    r.insert(Value::from("name"), Value::from("No States"));
    r.insert(Value::from("changes"), Value::map());
    r.insert(Value::from("__run_num__"), Value::Int(0));
    let mut m = Map::default();
    m.insert(Value::from("no_|-states_|-states_|-None"), Value::Map(r));
    Value::Map(m)
}

/// `split_input` keeping non-string items (exclude accepts `{sls: ...}`
/// and `{id: ...}` dicts).
fn split_keep(v: &Value) -> Vec<Value> {
    match v {
        Value::List(l) => l.clone(),
        other => split_input(other).into_iter().map(Value::Str).collect(),
    }
}

/// `state.apply [mods]`: `state.sls` with mods, else `state.highstate`.
fn apply(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("state.apply", &["mods"], 0, false, true, args, kwargs)?;
    match b.opt(0).filter(|m| m.truthy()) {
        Some(mods) => sls(ctx, vec![mods.clone()], b.kwargs),
        None => highstate(ctx, vec![], b.kwargs),
    }
}

/// `state.test`: `state.apply` with `test=True`.
fn test(ctx: &Context, args: Vec<Value>, mut kwargs: Map) -> Result<Value, String> {
    kwargs.insert(Value::from("test"), Value::Bool(true));
    apply(ctx, args, kwargs)
}

/// `state.sls mods [test=] [exclude=] [queue=] [saltenv=] [pillar=] ...`.
fn sls(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "state.sls",
        &[
            "mods",
            "test",
            "exclude",
            "queue",
            "sync_mods",
            "state_events",
        ],
        1,
        false,
        true,
        args,
        kwargs,
    )?;
    let mut kwargs = b.kwargs.clone();
    kwargs.shift_remove(&Value::from("env"));
    let _lock = match check_queue(ctx, "state.sls", b.opt(3), &kwargs) {
        Ok(l) => l,
        Err(conflict) => return Ok(conflict),
    };
    let mut opts = sls_opts(ctx, &kwargs)?;
    let test = test_value(ctx, b.opt(1), &kwargs);
    let saltenv = match opts.get("saltenv") {
        Some(Value::Null) | None => {
            if let Some(m) = opts.as_map_mut() {
                m.insert(Value::from("saltenv"), Value::from("base"));
            }
            "base".to_string()
        }
        Some(v) => str_of(v),
    };
    let setup = match setup_run(ctx, &opts, &kwargs, test, true)? {
        Ok(s) => s,
        Err(errors) => return Ok(errors),
    };
    let mods = split_input(&b.get(0, Value::Null));
    let exclude = b.opt(2).map(split_keep).unwrap_or_default();
    setup.run(ctx, &kwargs, |c| {
        c.sls_plan(&mods, &saltenv, &exclude).map(Planned::Run)
    })
}

/// `state.highstate [test=] [queue=] [exclude=] [saltenv=] [pillar=] ...`.
fn highstate(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "state.highstate",
        &["test", "queue", "state_events"],
        0,
        false,
        true,
        args,
        kwargs,
    )?;
    let mut kwargs = b.kwargs.clone();
    let _lock = match check_queue(ctx, "state.highstate", b.opt(1), &kwargs) {
        Ok(l) => l,
        Err(conflict) => return Ok(conflict),
    };
    let opts = sls_opts(ctx, &kwargs)?;
    let test = test_value(ctx, b.opt(0), &kwargs);
    kwargs.shift_remove(&Value::from("env"));
    let setup = match setup_run(ctx, &opts, &kwargs, test, true)? {
        Ok(s) => s,
        Err(errors) => return Ok(errors),
    };
    // A string is split on commas without stripping, unlike state.sls.
    let exclude: Vec<Value> = match kw(&kwargs, "exclude") {
        Some(Value::Str(s)) => s.split(',').map(Value::from).collect(),
        Some(Value::List(l)) => l.clone(),
        _ => vec![],
    };
    setup.run(ctx, &kwargs, |c| {
        let (plan, high) = c.highstate_plan(&exclude)?;
        Ok(match plan {
            HighstatePlan::Chunks(chunks) => Planned::Run(RunPlan { high, chunks }),
            HighstatePlan::NoMatches => {
                Planned::Result(no_states(brine_core::compile::NO_MATCHES_COMMENT))
            }
            HighstatePlan::NoStates => {
                Planned::Result(no_states(brine_core::compile::NO_STATES_COMMENT))
            }
        })
    })
}

/// `state.single mod.fun name=... [args]`: one state without an SLS.
fn single(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "state.single",
        &["fun", "name", "test", "queue"],
        2,
        false,
        true,
        args,
        kwargs,
    )?;
    let mut kwargs = b.kwargs.clone();
    let _lock = match check_queue(ctx, "state.single", b.opt(3), &kwargs) {
        Ok(l) => l,
        Err(conflict) => return Ok(conflict),
    };
    let fun = b.str(0).unwrap_or_default();
    let comps: Vec<&str> = fun.split('.').collect();
    if comps.len() < 2 {
        ctx.set_retcode(EX_STATE_COMPILER_ERROR);
        return Ok(Value::from("Invalid function passed"));
    }
    let name = b.get(1, Value::Null);
    kwargs.insert(Value::from("state"), Value::from(comps[0]));
    kwargs.insert(Value::from("fun"), Value::from(comps[1]));
    kwargs.insert(Value::from("__id__"), name.clone());
    kwargs.insert(Value::from("name"), name);
    let opts = sls_opts(ctx, &kwargs)?;
    let test = test_value(ctx, b.opt(2), &kwargs);
    let setup = match setup_run(ctx, &opts, &kwargs, test, false)? {
        Ok(s) => s,
        Err(errors) => return Ok(errors),
    };
    ctx.with_active_opts(setup.opts.clone(), || {
        ctx.with_active_pillar(setup.pillar.clone(), || {
            ctx.set_retcode(0);
            let mut state = State::new(Env {
                ctx,
                opts: &setup.opts,
                files: &*setup.files,
                test,
                mocked: false,
            });
            let errors = state.verify_data(&mut kwargs.clone());
            if !errors.is_empty() {
                ctx.set_retcode(EX_STATE_COMPILER_ERROR);
                return Ok(Value::List(errors.into_iter().map(Value::Str).collect()));
            }
            let tag = crate::runtime::gen_tag(&kwargs);
            let ret = state.call_single(kwargs).map_err(run_error)?;
            let mut m = Map::default();
            m.insert(Value::Str(tag), Value::Map(ret));
            let ret = Value::Map(m);
            set_run_retcode(ctx, &ret, None);
            Ok(ret)
        })
    })
}

/// `state.running [concurrent=False]`: the state run in progress, if any.
fn running(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "state.running",
        &["concurrent"],
        0,
        false,
        true,
        args,
        kwargs,
    )?;
    if b.opt(0).is_some_and(Value::truthy) {
        return Ok(Value::List(vec![]));
    }
    let cachedir = ctx
        .opts
        .get("cachedir")
        .map(str_of)
        .unwrap_or_else(|| "/var/cache/salt/minion".into());
    Ok(Value::List(
        lock::running(std::path::Path::new(&cachedir))
            .into_iter()
            .map(Value::Str)
            .collect(),
    ))
}
