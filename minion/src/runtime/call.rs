//! `State.call`: one state function call with everything around it —
//! `verify_data` (missing module/function/parameters, umask, recursive
//! requires), `format_call` (invalid keyword arguments abort the run),
//! `onlyif`/`unless`/`creates`, the call itself (an `Err` or a panic becomes
//! a failed state and the run goes on), `check_cmd`, the result's
//! bookkeeping keys (`__sls__`, `__run_num__`, `start_time`, `duration`,
//! `__id__`), `retry`, and the `OutputUnifier` that joins list comments.

use super::clock::Timer;
use super::{as_items, get, get_str, is_internal_keyword, k, truthy, RunError, State};
use crate::states::{lookup, Ret, StateCall, StateFn, StateFunction};
use brine_core::matcher::fnmatch::fnmatch;
use brine_core::output::pyrepr::{repr, str_of};
use brine_core::value::{Map, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

/// The prefix of a failed state's comment when the function raised (in
/// Salt) or panicked (in Brine).
pub const EXCEPTION_PREFIX: &str = "An exception occurred in this state: ";

/// State functions that run `check_cmd` themselves (in Salt: a
/// `check_cmd` parameter and a module `mod_run_check_cmd`); for the others
/// the runtime runs it after the state.
const TAKES_CHECK_CMD: &[&str] = &["file.managed", "file.serialize"];

/// The `Err` a state function returns where Salt's raises an exception
/// (e.g. `SaltInvocationError`): the comment Salt shows, up to its
/// traceback.
pub fn exception(msg: impl std::fmt::Display) -> String {
    format!("{EXCEPTION_PREFIX}{msg}")
}

impl State<'_> {
    /// `verify_data`: the errors that keep this chunk from running (empty
    /// when it may run). Like Salt it pops `umask` into `__umask__` and turns
    /// `watch` into `require` for modules without `mod_watch`.
    pub fn verify_data(&self, data: &mut Map) -> Vec<String> {
        let mut errors = Vec::new();
        for key in ["state", "fun", "name"] {
            if get(data, key).is_none() {
                errors.push(format!("Missing \"{key}\" data"));
            }
        }
        if let Some(name) = get(data, "name") {
            if name.truthy() && !matches!(name, Value::Str(_)) {
                let sls = match get(data, "__sls__") {
                    Some(s) => format!("in SLS '{}' ", str_of(s)),
                    None => String::new(),
                };
                errors.push(format!(
                    "ID '{}' {sls}is not formed as a string, but is a {}",
                    str_of(name),
                    name.type_name()
                ));
            }
        }
        if let Some(umask) = data.shift_remove(&super::StrKey("umask")) {
            match i128::from_str_radix(str_of(&umask).trim(), 8) {
                Ok(n) => {
                    data.insert(k("__umask__"), Value::Int(n));
                }
                Err(_) => errors.push(format!("Invalid umask: {}", str_of(&umask))),
            }
        }
        if !errors.is_empty() {
            return errors;
        }
        let state = get_str(data, "state");
        let fun = get_str(data, "fun");
        let full = || format!("{state}.{fun}");
        match lookup(&state, &fun) {
            None => match get(data, "__sls__") {
                Some(sls) => {
                    errors.push(format!(
                        "State '{}' was not found in SLS '{}'",
                        full(),
                        str_of(sls)
                    ));
                    errors.push(format!(
                        "Reason: {}",
                        crate::modules::missing_fun_string(&full())
                    ));
                }
                None => errors.push(format!("Specified state '{}' was not found", full())),
            },
            Some(sf) => {
                for param in sf.required {
                    if get(data, param).is_none() {
                        errors.push(format!("Missing parameter {param} for state {}", full()));
                    }
                }
            }
        }
        // A chunk that requires itself would loop forever.
        let mut reqdec = "";
        if get(data, "require").is_some() {
            reqdec = "require";
        }
        if get(data, "watch").is_some() {
            if lookup(&state, "mod_watch").is_none() {
                watch_to_require(data, "watch", "require");
                reqdec = "require";
            } else {
                reqdec = "watch";
            }
        }
        if !reqdec.is_empty() {
            let name = get_str(data, "name");
            let id = get_str(data, "__id__");
            for req in as_items(get(data, reqdec)) {
                let Value::Map(rm) = &req else { continue };
                let Some((first, val)) = rm.iter().next() else {
                    continue;
                };
                let Value::Str(pat) = val else { continue };
                if str_of(first) == state && (fnmatch(&name, pat) || fnmatch(&id, pat)) {
                    errors.push(format!(
                        "Recursive require detected in SLS {} for require {} in ID {}",
                        get_str(data, "__sls__"),
                        repr(&req),
                        id
                    ));
                }
            }
        }
        errors
    }

    /// `State.call`: run `low` and return its result (unified). `running`
    /// is `__running__`; `retries` counts attempts (1 for the first).
    pub(crate) fn call(
        &mut self,
        running: &Map,
        low: &mut Map,
        retries: u32,
    ) -> Result<Map, RunError> {
        let timer = Timer::start();
        let name = get(low, "name").cloned().unwrap_or(Value::Null);
        let errors = self.verify_data(low);
        if !errors.is_empty() {
            let mut ret = Map::default();
            ret.insert(k("result"), Value::Bool(false));
            ret.insert(k("name"), name);
            ret.insert(k("changes"), Value::map());
            let comment: String = errors.iter().map(|e| format!("{e}\n")).collect();
            ret.insert(k("comment"), Value::Str(comment));
            let n = self.next_run_num();
            ret.insert(k("__run_num__"), n);
            format_log(&ret);
            return Ok(unify(ret));
        }
        let state = get_str(low, "state");
        let fun = get_str(low, "fun");
        // verify_data found it.
        let Some(sf) = lookup(&state, &fun) else {
            return Err(RunError::Render(format!(
                "State '{state}.{fun}' was not found"
            )));
        };
        format_call(sf, &state, &fun, low)?;

        let prereq = truthy(low, "__prereq__");
        let test = self.env.test || prereq;
        let checked = ["unless", "onlyif", "creates"]
            .iter()
            .any(|key| get(low, key).is_some())
            && lookup(&state, "mod_run_check").is_none();
        // The result so far: only the checks' outcome can keep the function
        // from running (it is replaced by the function's result otherwise).
        let mut ret = Map::default();
        if checked {
            ret.insert(k("result"), Value::Bool(false));
            ret.insert(k("name"), name.clone());
            ret.insert(k("changes"), Value::map());
        }
        let mut failed: Option<String> = None;
        if checked {
            match self.run_check(low) {
                Ok(check) => merge(&mut ret, check),
                Err(e) => failed = Some(e),
            }
        }
        if failed.is_none() {
            let saltenv = self.saltenv(low);
            let run = match get(&ret, "result") {
                None => true,
                Some(v) => matches!(v, Value::Bool(false)),
            };
            if run {
                let files = self.env.files;
                let call = StateCall {
                    ctx: self.env.ctx,
                    low,
                    test,
                    saltenv: &saltenv,
                    files,
                    running,
                };
                let result = if self.env.mocked {
                    Ok(Ok(mock_ret(&name)))
                } else {
                    with_umask(get(low, "__umask__"), || invoke(sf.fun, &call))
                };
                ret = match result {
                    Ok(Ok(r)) => r.into_map(),
                    Ok(Err(msg)) => error_ret(&name, Value::Str(msg)),
                    Err(panic) => {
                        failed = Some(panic);
                        ret
                    }
                };
            }
        }
        if failed.is_none() && get(low, "check_cmd").is_some() {
            let own = TAKES_CHECK_CMD.contains(&format!("{state}.{fun}").as_str())
                || sf.params.is_some_and(|p| p.contains(&"check_cmd"));
            if !own {
                let check = self.run_check_cmd(low);
                merge(&mut ret, check);
            }
        }
        if let Some(msg) = failed {
            ret = error_ret(&name, Value::Str(format!("{EXCEPTION_PREFIX}{msg}")));
        }

        if prereq {
            low.insert(k("__prereq__"), Value::Bool(false));
            return Ok(unify(ret));
        }

        ret.reserve(5);
        ret.insert(
            k("__sls__"),
            get(low, "__sls__").cloned().unwrap_or(Value::Null),
        );
        let n = self.next_run_num();
        ret.insert(k("__run_num__"), n);
        format_log(&ret);
        ret.insert(k("start_time"), Value::Str(timer.start_time.clone()));
        ret.insert(k("duration"), Value::Float(timer.duration_ms()));
        ret.insert(
            k("__id__"),
            get(low, "__id__").cloned().unwrap_or(Value::Null),
        );
        if get(low, "retry").is_some() && get(low, "parallel").is_none() {
            ret = self.retry(running, low, ret, retries)?;
        }
        Ok(unify(ret))
    }

    /// The `__env__` a state sees: `saltenv` from the chunk (unless
    /// `lock_saltenv`), else the chunk's `__env__`, else "base".
    fn saltenv(&self, low: &Map) -> String {
        let locked = self.env.opts.get("lock_saltenv").is_some_and(Value::truthy);
        if !locked {
            if let Some(s) = get(low, "saltenv") {
                return str_of(s);
            }
            if let Some(Value::Str(s)) = get(low, "env") {
                return s.clone();
            }
        }
        match get(low, "__env__") {
            Some(e) => str_of(e),
            None => "base".to_string(),
        }
    }

    /// The `retry` option: run again (sleeping `interval` plus a random
    /// splay) until the result matches `until` or the attempts run out; in
    /// test mode only say what would happen.
    fn retry(
        &mut self,
        running: &Map,
        low: &mut Map,
        mut ret: Map,
        retries: u32,
    ) -> Result<Map, RunError> {
        let spec = verify_retry_data(get(low, "retry"));
        low.insert(k("retry"), Value::Map(spec.to_map()));
        if self.env.test {
            let comment = match get(&ret, "comment") {
                Some(c) if c.truthy() => str_of(c),
                _ => String::new(),
            };
            let text = format!(
                "{comment}  The state would be retried every {} seconds (with a splay of up to {} seconds) a maximum of {} times or until a result of {} is returned",
                spec.interval,
                spec.splay,
                spec.attempts,
                if spec.until { "True" } else { "False" }
            );
            ret.insert(k("comment"), Value::Str(text));
            return Ok(ret);
        }
        let result = get(&ret, "result").cloned().unwrap_or(Value::Null);
        if Value::Bool(spec.until) == result || spec.attempts <= retries as i128 {
            return Ok(ret);
        }
        let mut interval = spec.interval;
        if spec.splay != 0 {
            interval += random_below(spec.splay + 1);
        }
        tracing::info!(
            "State result does not match retry until value, state will be re-run in {} seconds",
            interval
        );
        if interval > 0 {
            std::thread::sleep(std::time::Duration::from_secs(interval as u64));
        }
        let mut new = self.call(running, low, retries + 1)?;
        let orig_comment = get(&ret, "comment").map(str_of).unwrap_or_default();
        let new_comment = match get(&new, "comment") {
            Some(c) if c.truthy() => str_of(c),
            _ => String::new(),
        };
        new.insert(
            k("comment"),
            Value::Str(format!(
                "Attempt {retries}: Returned a result of \"{}\", with the following comment: \"{orig_comment}\"\n{new_comment}",
                py_bool_str(&result)
            )),
        );
        let dur = |m: &Map| match get(m, "duration") {
            Some(Value::Float(f)) => *f,
            Some(Value::Int(i)) => *i as f64,
            _ => 0.0,
        };
        let total = dur(&new) + dur(&ret) + (interval as f64 * 1000.0);
        new.insert(k("duration"), Value::Float(total));
        if retries == 1 {
            if let Some(st) = get(&ret, "start_time").cloned() {
                new.insert(k("start_time"), st);
            }
        }
        Ok(new)
    }
}

/// `str()` of a result value: `True`, `False`, `None`.
fn py_bool_str(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => str_of(other),
    }
}

/// A random number in `0..n` (for the retry splay), from the clock.
fn random_below(n: i128) -> i128 {
    if n <= 0 {
        return 0;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as i128)
        .unwrap_or(0);
    nanos % n
}

/// `verify_retry_data`'s result.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySpec {
    pub until: bool,
    pub attempts: i128,
    pub interval: i128,
    pub splay: i128,
}

impl RetrySpec {
    fn to_map(&self) -> Map {
        let mut m = Map::default();
        m.insert(k("until"), Value::Bool(self.until));
        m.insert(k("attempts"), Value::Int(self.attempts));
        m.insert(k("interval"), Value::Int(self.interval));
        m.insert(k("splay"), Value::Int(self.splay));
        m
    }
}

/// `verify_retry_data`: Salt's defaults (until True, 2 attempts, 30 s
/// interval, no splay) for anything missing or of the wrong type;
/// `retry: False` means no retries.
pub fn verify_retry_data(data: Option<&Value>) -> RetrySpec {
    let mut spec = RetrySpec {
        until: true,
        attempts: 2,
        interval: 30,
        splay: 0,
    };
    match data {
        Some(Value::Map(m)) => {
            // Python's isinstance(True, int) holds: bools pass as ints.
            let int = |key: &str, default: i128| match get(m, key) {
                Some(Value::Int(i)) => *i,
                Some(Value::Bool(b)) => *b as i128,
                Some(other) => {
                    tracing::warn!(
                        "An invalid value was passed for the retry {}, using default value '{}'",
                        key,
                        str_of(other)
                    );
                    default
                }
                None => default,
            };
            spec.until = match get(m, "until") {
                Some(Value::Bool(b)) => *b,
                _ => true,
            };
            spec.attempts = int("attempts", 2);
            spec.interval = int("interval", 30);
            spec.splay = int("splay", 0);
        }
        Some(Value::Bool(false)) => spec.attempts = 0,
        Some(Value::Bool(true)) => {}
        _ => tracing::warn!(
            "State is set to retry, but retry: True or a valid dict for retry configuration was not found.  Using retry defaults"
        ),
    }
    spec
}

/// `format_call`'s check: keys of the chunk the function does not take.
/// Only for functions without `**kwargs`.
fn format_call(sf: &StateFunction, state: &str, fun: &str, low: &Map) -> Result<(), RunError> {
    let Some(params) = sf.params else {
        return Ok(());
    };
    let ok = |key: &str| params.contains(&key) || is_internal_keyword(key);
    // Keys are nearly always valid strings: check before building anything.
    if low.keys().all(|key| matches!(key, Value::Str(s) if ok(s))) {
        return Ok(());
    }
    let full = format!("{state}.{fun}");
    let extra: Vec<String> = low.keys().map(str_of).filter(|key| !ok(key)).collect();
    match extra.len() {
        0 => Ok(()),
        1 => Err(RunError::InvalidArgs(format!(
            "'{}' is an invalid keyword argument for '{full}'",
            extra[0]
        ))),
        n => {
            let head: Vec<String> = extra[..n - 1].iter().map(|e| format!("'{e}'")).collect();
            Err(RunError::InvalidArgs(format!(
                "{} and '{}' are invalid keyword arguments for '{full}'",
                head.join(", "),
                extra[n - 1]
            )))
        }
    }
}

/// `mock_ret`: the result of a state that mock mode did not call.
fn mock_ret(name: &Value) -> Ret {
    let mut r = Ret::new(name.clone());
    r.comment = Value::from("Not called, mocked");
    r
}

/// Run `f` with the chunk's `umask` (from `__umask__`) in effect.
fn with_umask<T>(umask: Option<&Value>, f: impl FnOnce() -> T) -> T {
    let Some(Value::Int(mask)) = umask else {
        return f();
    };
    let mask = (*mask & 0o777) as u32;
    let old = brine_core::fsutil::set_umask(mask);
    let out = f();
    brine_core::fsutil::set_umask(old);
    out
}

/// Call a state function, catching a panic: `Err(message)` when it
/// panicked (Salt's "An exception occurred in this state").
/// Arguments of the wrong shape fail the state before it runs
/// ([`crate::states::argtypes`]).
pub fn invoke(fun: StateFn, call: &StateCall) -> Result<Result<Ret, String>, String> {
    if let Some(err) = crate::states::argtypes::check(call) {
        return Ok(Err(err));
    }
    // Users and groups may have changed since the last state: check
    // /etc/passwd and /etc/group again, unless the states since the last
    // check could not have changed them.
    let may_change = may_change_ids(call.low);
    if IDS_DIRTY.swap(false, Ordering::SeqCst) || may_change {
        crate::modules::file::forget_ids();
    }
    let out = catch_unwind(AssertUnwindSafe(|| fun(call))).map_err(|p| panic_message(p.as_ref()));
    if may_change {
        IDS_DIRTY.store(true, Ordering::SeqCst);
    }
    out
}

/// Set when a state ran that may have changed users or groups: the next
/// state looks them up afresh.
static IDS_DIRTY: AtomicBool = AtomicBool::new(true);

/// Whether running `low` (with its `onlyif`/`unless` commands) may change
/// users or groups: anything but a `file` state that runs no command or
/// template (file states only read the user and group databases).
fn may_change_ids(low: &Map) -> bool {
    let runs_something = ["onlyif", "unless", "check_cmd", "template"]
        .iter()
        .any(|key| get(low, key).is_some_and(|v| !v.is_null()));
    runs_something || !matches!(get(low, "state"), Some(Value::Str(s)) if s == "file")
}

/// The result of a function that raised: `{result, name, changes, comment}`.
pub(crate) fn error_ret(name: &Value, comment: Value) -> Map {
    let mut m = Map::default();
    m.insert(k("result"), Value::Bool(false));
    m.insert(k("name"), name.clone());
    m.insert(k("changes"), Value::map());
    m.insert(k("comment"), comment);
    m
}

/// The text of a panic payload.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Python's `dict.update`: existing keys keep their position.
pub(crate) fn merge(ret: &mut Map, other: Map) {
    for (key, v) in other {
        ret.insert(key, v);
    }
}

/// `OutputUnifier("unify")`: a list comment becomes lines, a non-None
/// result a bool.
pub(crate) fn unify(mut ret: Map) -> Map {
    if let Some(Value::List(items)) = get(&ret, "comment") {
        let joined = items.iter().map(str_of).collect::<Vec<_>>().join("\n");
        ret.insert(k("comment"), Value::Str(joined));
    }
    if let Some(r) = get(&ret, "result") {
        if !r.is_null() && !matches!(r, Value::Bool(_)) {
            let b = r.truthy();
            ret.insert(k("result"), Value::Bool(b));
        }
    }
    ret
}

/// Turn `from` into `to` (`watch` -> `require`): extend the list, or move it.
pub(crate) fn watch_to_require(low: &mut Map, from: &str, to: &str) {
    let Some(moved) = low.shift_remove(&k(from)) else {
        return;
    };
    match low.get_mut(&k(to)) {
        Some(Value::List(existing)) => existing.extend(as_items(Some(&moved))),
        _ => {
            low.insert(k(to), moved);
        }
    }
}

/// `format_log`: log a result the way Salt does (errors for failures).
fn format_log(ret: &Map) {
    let success = matches!(
        get(ret, "result"),
        Some(Value::Bool(true)) | Some(Value::Null)
    );
    let wanted = if success {
        tracing::enabled!(tracing::Level::INFO)
    } else {
        tracing::enabled!(tracing::Level::ERROR)
    };
    if !wanted {
        return;
    }
    let changes = get(ret, "changes");
    let mut msg = String::new();
    match changes {
        Some(c) if !c.truthy() => {
            msg = match get(ret, "comment") {
                Some(cm) if cm.truthy() => str_of(cm),
                _ => format!("No changes made for {}", get_str(ret, "name")),
            };
        }
        Some(Value::Map(chg)) => {
            if let Some(Value::Str(d)) = chg.get(&k("diff")) {
                msg = format!("File changed:\n{d}");
            }
            let all_pairs = chg.values().all(|x| {
                matches!(x, Value::Map(m) if m.contains_key(&k("old")) && m.contains_key(&k("new")))
            });
            if all_pairs {
                msg = "Made the following changes:\n".to_string();
                for (pkg, x) in chg {
                    let side = |key: &str| {
                        let v = x.get(key).cloned().unwrap_or(Value::Null);
                        if !v.truthy() && !matches!(v, Value::Bool(false) | Value::Null) {
                            "absent".to_string()
                        } else {
                            str_of(&v)
                        }
                    };
                    msg.push_str(&format!(
                        "'{}' changed from '{}' to '{}'\n",
                        str_of(pkg),
                        side("old"),
                        side("new")
                    ));
                }
            }
        }
        _ => {}
    }
    if msg.is_empty() {
        msg = changes.map(str_of).unwrap_or_default();
    }
    match get(ret, "result") {
        Some(Value::Bool(true)) | Some(Value::Null) => tracing::info!("{}", msg),
        _ => tracing::error!("{}", msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::Context;

    fn boom(_: &StateCall) -> Result<Ret, String> {
        panic!("kaboom")
    }

    #[test]
    fn a_panicking_state_is_caught() {
        let ctx = Context::new(Value::map());
        let low = Map::default();
        let running = Map::default();
        let files = brine_core::fileclient::LocalFileClient::new(Default::default());
        let call = StateCall {
            ctx: &ctx,
            low: &low,
            test: false,
            saltenv: "base",
            files: &files,
            running: &running,
        };
        assert_eq!(invoke(boom, &call), Err("kaboom".to_string()));
    }

    #[test]
    fn retry_data_defaults_and_types() {
        let d = verify_retry_data(Some(&Value::Bool(true)));
        assert_eq!((d.until, d.attempts, d.interval, d.splay), (true, 2, 30, 0));
        assert_eq!(verify_retry_data(Some(&Value::Bool(false))).attempts, 0);
        let mut m = Map::default();
        m.insert(k("attempts"), Value::from("x"));
        m.insert(k("until"), Value::Bool(false));
        m.insert(k("interval"), Value::Int(1));
        let d = verify_retry_data(Some(&Value::Map(m)));
        assert_eq!((d.until, d.attempts, d.interval, d.splay), (false, 2, 1, 0));
    }

    #[test]
    fn unify_joins_list_comments() {
        let mut m = Map::default();
        m.insert(k("result"), Value::Int(1));
        m.insert(
            k("comment"),
            Value::List(vec![Value::from("a"), Value::Int(2)]),
        );
        let m = unify(m);
        assert_eq!(get(&m, "comment"), Some(&Value::from("a\n2")));
        assert_eq!(get(&m, "result"), Some(&Value::Bool(true)));
    }
}
