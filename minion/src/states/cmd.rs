//! `cmd` states (salt/states/cmd.py): run, script, wait, watch,
//! wait_script and mod_watch, on top of [`crate::modules::cmd`].
//!
//! `changes` is `cmd.run_all`'s dict (`pid`, `retcode`, `stdout`,
//! `stderr`), `result` is false on a non-zero retcode (after
//! `success_retcodes`/`success_stdout`/`success_stderr`), and `stateful`
//! commands report their own changes through their last output line
//! (`changed=yes comment="..."`) or a JSON object. `unless`/`onlyif`/
//! `creates` belong to the runtime. `mod_watch` expects the runtime to put
//! the watched state's function name in the low chunk as `sfun`, as Salt
//! does.

use super::{Ret, StateCall, StateFunction, STATE_INTERNAL_KEYWORDS};
use crate::modules::{classify, cmd as cmdmod, ErrorKind};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "run",
        fun: run,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "script",
        fun: script,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "wait",
        fun: wait,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "watch",
        fun: wait,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "wait_script",
        fun: wait,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "mod_watch",
        fun: mod_watch,
        required: &["name"],
        params: None,
    },
];

/// `cmd.run`'s named parameters (the rest is `**kwargs`, passed on to
/// `cmd.run_all`).
const RUN_NAMED: &[&str] = &[
    "name",
    "cwd",
    "root",
    "runas",
    "shell",
    "env",
    "prepend_path",
    "stateful",
    "output_loglevel",
    "hide_output",
    "timeout",
    "ignore_timeout",
    "use_vt",
    "success_retcodes",
    "success_stdout",
    "success_stderr",
];

/// `cmd.script`'s named parameters.
const SCRIPT_NAMED: &[&str] = &[
    "name",
    "source",
    "template",
    "cwd",
    "runas",
    "password",
    "shell",
    "env",
    "stateful",
    "timeout",
    "use_vt",
    "output_loglevel",
    "hide_output",
    "defaults",
    "context",
    "success_retcodes",
    "success_stdout",
    "success_stderr",
];

/// The state's `**kwargs`: low chunk keys that are neither named
/// parameters nor the runtime's.
fn extra_kwargs(call: &StateCall, named: &[&str]) -> Map {
    let mut m = Map::default();
    for (k, v) in call.low {
        let Some(key) = k.as_str() else { continue };
        if named.contains(&key)
            || STATE_INTERNAL_KEYWORDS.contains(&key)
            || key.starts_with("__")
            || key == "sfun"
        {
            continue;
        }
        m.insert(k.clone(), v.clone());
    }
    m
}

/// Salt runs a state under its `umask` argument (the runtime moves it to
/// `__umask__`); the command inherits it.
fn add_umask(call: &StateCall, kwargs: &mut Map) {
    if let Some(Value::Int(n)) = call.low.get(&Value::from("__umask__")) {
        if *n > 0 {
            kwargs.insert(Value::from("umask"), Value::Str(format!("{n:o}")));
        }
    }
}

/// The raw argument (None included: Salt passes it on as None).
fn raw(call: &StateCall, key: &str) -> Value {
    call.low
        .get(&Value::from(key))
        .cloned()
        .unwrap_or(Value::Null)
}

/// `stateful`: `True` (strictly), or `[{'test_name': ...}]`.
fn parse_stateful(call: &StateCall) -> (bool, Option<Value>) {
    match call.get("stateful") {
        Some(Value::List(l)) => {
            let test_name = l.first().and_then(|first| first.get("test_name")).cloned();
            (true, test_name)
        }
        Some(Value::Bool(true)) => (true, None),
        _ => (false, None),
    }
}

/// `__grains__["shell"]` unless the state names a shell.
fn shell_of(call: &StateCall) -> Value {
    match call.get("shell").filter(|v| v.truthy()) {
        Some(v) => v.clone(),
        None => call
            .ctx
            .grains()
            .get("shell")
            .cloned()
            .unwrap_or_else(|| Value::from("/bin/sh")),
    }
}

/// The message of an execution error, without the kind markers.
fn err_text(e: &str) -> String {
    match classify(e) {
        ErrorKind::Execution(m) | ErrorKind::Args(m) | ErrorKind::Invocation(m) => m,
    }
}

/// `_is_true`: the `changed` value of stateful output.
fn stateful_is_true(v: &Value) -> Result<bool, String> {
    let s = match v {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => str_of(other),
    };
    let lower = s.to_lowercase();
    if v.truthy() && matches!(lower.as_str(), "true" | "yes" | "1") {
        Ok(true)
    } else if matches!(lower.as_str(), "false" | "no" | "0") {
        Ok(false)
    } else {
        Err(format!("Failed parsing boolean value: {s}"))
    }
}

/// `_reinterpreted_state`: a stateful command's own report.
fn reinterpreted(mut state: Ret) -> Result<Ret, String> {
    let ret = std::mem::take(&mut state.changes);
    state.comment = Value::from("");
    let out = ret
        .get(&Value::from("stdout"))
        .filter(|v| v.truthy())
        .map(str_of);
    let Some(out) = out else {
        if let Some(err) = ret.get(&Value::from("stderr")).filter(|v| v.truthy()) {
            state.comment = err.clone();
        }
        return Ok(state);
    };
    let mut is_json = false;
    // Python's `out.rstrip().rfind("\n")`, counted in characters.
    let mut idx: i64 = -1;
    let mut data: Map;
    match serde_json::from_str::<serde_json::Value>(&out) {
        Ok(j) => {
            let v = Value::from_json(&j);
            let Value::Map(m) = v else {
                return Ok(failout(
                    state,
                    "script JSON output must be a JSON object (e.g., {})!",
                ));
            };
            data = m;
            is_json = true;
        }
        Err(_) => {
            let trimmed = out.trim_end();
            let mut line = out.as_str();
            if let Some(b) = trimmed.rfind('\n') {
                idx = trimmed[..b].chars().count() as i64;
                line = &out[b + 1..];
            }
            let parsed = cmdmod::shlex_split(line).ok().and_then(|items| {
                let mut d = Map::default();
                for item in items {
                    let mut parts = item.split('=');
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(k), Some(v), None) => {
                            d.insert(Value::from(k), Value::from(v));
                        }
                        _ => return None,
                    }
                }
                Some(d)
            });
            match parsed {
                Some(d) => data = d,
                None => {
                    let mut state = failout(
                        state,
                        "Failed parsing script output! Stdout must be JSON or a line of name=value pairs.",
                    );
                    state.changes.extend(ret);
                    return Ok(state);
                }
            }
        }
    }
    let changed = stateful_is_true(
        data.get(&Value::from("changed"))
            .unwrap_or(&Value::from("no")),
    )?;
    if let Some(c) = data.shift_remove(&Value::from("comment")) {
        state.comment = c;
    }
    if changed {
        for (k, v) in &ret {
            data.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let stdout = if is_json {
            String::new()
        } else {
            let s = data
                .get(&Value::from("stdout"))
                .map(str_of)
                .unwrap_or_default();
            py_slice_to(&s, idx)
        };
        data.insert(Value::from("stdout"), Value::Str(stdout));
        state.changes = data;
    }
    Ok(state)
}

/// Python's `s[:idx]` (a negative index counts from the end).
fn py_slice_to(s: &str, idx: i64) -> String {
    let n = s.chars().count() as i64;
    let end = if idx < 0 {
        (n + idx).max(0)
    } else {
        idx.min(n)
    };
    s.chars().take(end as usize).collect()
}

fn failout(mut state: Ret, msg: &str) -> Ret {
    state.comment = Value::from(msg);
    state.result = Some(false);
    state
}

/// `cmd.wait`, `cmd.watch`, `cmd.wait_script`: nothing until watched.
fn wait(call: &StateCall) -> Result<Ret, String> {
    Ok(Ret::new(raw(call, "name")))
}

/// Whether `env` has a type Salt accepts.
fn env_ok(call: &StateCall) -> bool {
    matches!(call.get("env"), None | Some(Value::Map(_) | Value::List(_)))
}

fn run(call: &StateCall) -> Result<Ret, String> {
    let (stateful, test_name) = parse_stateful(call);
    run_impl(call, stateful, test_name)
}

fn run_impl(call: &StateCall, stateful: bool, test_name: Option<Value>) -> Result<Ret, String> {
    let mut ret = Ret::new(raw(call, "name")).with(Some(false), "");
    let name = match (&test_name, call.test) {
        (Some(t), true) => str_of(t),
        _ => call.name(),
    };
    if !env_ok(call) {
        ret.comment = Value::from("Invalidly-formatted 'env' parameter. See documentation.");
        return Ok(ret);
    }
    let mut kwargs = extra_kwargs(call, RUN_NAMED);
    for key in [
        "cwd",
        "runas",
        "use_vt",
        "env",
        "prepend_path",
        "output_loglevel",
        "hide_output",
        "success_retcodes",
        "success_stdout",
        "success_stderr",
    ] {
        kwargs.insert(Value::from(key), raw(call, key));
    }
    kwargs.insert(Value::from("shell"), shell_of(call));
    add_umask(call, &mut kwargs);
    if call.test && test_name.is_none() {
        ret.result = None;
        ret.comment = Value::Str(format!("Command \"{name}\" would have been executed"));
        ret.change("cmd", Value::Str(name));
        return if stateful {
            reinterpreted(ret)
        } else {
            Ok(ret)
        };
    }
    if let Some(cwd) = call.opt_str("cwd")?.filter(|c| !c.is_empty()) {
        if !std::path::Path::new(&cwd).is_dir() {
            ret.comment = Value::Str(format!(
                "Desired working directory \"{cwd}\" is not available"
            ));
            return Ok(ret);
        }
    }
    if call.get("root").is_some_and(Value::truthy) {
        ret.comment = Value::from("cmd.run_chroot (root) is not supported by Brine");
        return Ok(ret);
    }
    kwargs.insert(Value::from("cmd"), Value::Str(name.clone()));
    kwargs.insert(Value::from("timeout"), raw(call, "timeout"));
    kwargs.insert(Value::from("python_shell"), Value::Bool(true));
    let cmd_all = match cmdmod::run_all(call.ctx, Vec::new(), kwargs) {
        Ok(Value::Map(m)) => m,
        Ok(_) => Map::default(),
        Err(e) => {
            ret.comment = Value::Str(err_text(&e));
            return Ok(ret);
        }
    };
    let rc = cmd_all
        .get(&Value::from("retcode"))
        .cloned()
        .unwrap_or(Value::Int(1));
    ret.changes = cmd_all;
    ret.result = Some(!rc.truthy());
    ret.comment = Value::Str(format!("Command \"{name}\" run"));
    if call.bool_or("ignore_timeout", false)? {
        let timed_out = ret
            .changes
            .get(&Value::from("stdout"))
            .map(str_of)
            .is_some_and(|s| s.contains("Timed out after"));
        if rc == Value::Int(1) && timed_out {
            ret.change("retcode", Value::Int(0));
            ret.result = Some(true);
        }
    }
    if stateful {
        ret = reinterpreted(ret)?;
    }
    if call.test && !rc.truthy() && !ret.changes.is_empty() {
        ret.result = None;
    }
    Ok(ret)
}

fn script(call: &StateCall) -> Result<Ret, String> {
    let (stateful, test_name) = parse_stateful(call);
    script_impl(call, stateful, test_name)
}

fn script_impl(call: &StateCall, stateful: bool, test_name: Option<Value>) -> Result<Ret, String> {
    let (name_value, name) = match (&test_name, call.test) {
        (Some(t), true) => (t.clone(), str_of(t)),
        _ => (raw(call, "name"), call.name()),
    };
    let mut ret = Ret::new(name_value).with(Some(false), "");
    if !env_ok(call) {
        ret.comment = Value::from("Invalidly-formatted 'env' parameter. See documentation.");
        return Ok(ret);
    }
    let context = call.get("context").filter(|v| v.truthy());
    if context.is_some_and(|c| !matches!(c, Value::Map(_))) {
        ret.comment =
            Value::from("Invalidly-formatted 'context' parameter. Must be formed as a dict.");
        return Ok(ret);
    }
    let defaults = call.get("defaults").filter(|v| v.truthy());
    if defaults.is_some_and(|c| !matches!(c, Value::Map(_))) {
        ret.comment =
            Value::from("Invalidly-formatted 'defaults' parameter. Must be formed as a dict.");
        return Ok(ret);
    }
    let mut tmpctx = match defaults {
        Some(Value::Map(m)) => m.clone(),
        _ => Map::default(),
    };
    if let Some(Value::Map(c)) = context {
        tmpctx.extend(c.clone());
    }
    let mut kwargs = extra_kwargs(call, SCRIPT_NAMED);
    for key in [
        "runas",
        "password",
        "env",
        "cwd",
        "template",
        "timeout",
        "output_loglevel",
        "hide_output",
        "use_vt",
        "success_retcodes",
        "success_stdout",
        "success_stderr",
    ] {
        kwargs.insert(Value::from(key), raw(call, key));
    }
    kwargs.insert(Value::from("shell"), shell_of(call));
    kwargs.insert(Value::from("context"), Value::Map(tmpctx));
    add_umask(call, &mut kwargs);
    kwargs.insert(Value::from("saltenv"), Value::from(call.saltenv));
    let source = call.opt_str("source")?.unwrap_or_else(|| name.clone());
    let has_args = kwargs.get(&Value::from("args")).is_some_and(Value::truthy);
    if !has_args && name.split_whitespace().count() > 1 {
        if let Some((_, rest)) = name.split_once(' ') {
            kwargs.insert(Value::from("args"), Value::from(rest));
        }
    }
    if call.test && test_name.is_none() {
        ret.result = None;
        ret.comment = Value::Str(format!("Command '{name}' would have been executed"));
        return if stateful {
            reinterpreted(ret)
        } else {
            Ok(ret)
        };
    }
    if let Some(cwd) = call.opt_str("cwd")?.filter(|c| !c.is_empty()) {
        if !std::path::Path::new(&cwd).is_dir() {
            ret.comment = Value::Str(format!(
                "Desired working directory \"{cwd}\" is not available"
            ));
            return Ok(ret);
        }
    }
    kwargs.insert(Value::from("python_shell"), Value::Bool(true));
    let cmd_all = match cmdmod::script_with(
        call.ctx,
        call.files,
        vec![Value::Str(source.clone())],
        kwargs,
    ) {
        Ok(Value::Map(m)) => m,
        Ok(_) => Map::default(),
        Err(e) => {
            ret.comment = Value::Str(err_text(&e));
            return Ok(ret);
        }
    };
    let Some(rc) = cmd_all.get(&Value::from("retcode")).cloned() else {
        return Err("KeyError: 'retcode'".into());
    };
    let cache_error = cmd_all
        .get(&Value::from("cache_error"))
        .is_some_and(Value::truthy);
    ret.changes = cmd_all;
    ret.result = Some(!rc.truthy());
    ret.comment = Value::Str(if cache_error {
        format!(
            "Unable to cache script {source} from saltenv '{}'",
            call.saltenv
        )
    } else {
        format!("Command '{name}' run")
    });
    if stateful {
        ret = reinterpreted(ret)?;
    }
    if call.test && !rc.truthy() && !ret.changes.is_empty() {
        ret.result = None;
    }
    Ok(ret)
}

/// `cmd.mod_watch`: run a watched `cmd.wait`/`cmd.run`/`cmd.script`.
fn mod_watch(call: &StateCall) -> Result<Ret, String> {
    let sfun = call.opt_str("sfun")?.unwrap_or_default();
    let stateful = call.get("stateful").is_some_and(Value::truthy);
    let (ret, stateful) = match sfun.as_str() {
        "wait" | "run" | "watch" => (run_impl(call, false, None)?, stateful),
        "wait_script" | "script" => (script_impl(call, false, None)?, stateful),
        "wait_call" | "call" => {
            return Ok(Ret::new(raw(call, "name")).with(
                Some(false),
                format!("cmd.{sfun} needs a named parameter func"),
            ))
        }
        _ => {
            return Ok(Ret::new(raw(call, "name")).with(
                Some(false),
                format!(
                    "cmd.{sfun} does not work with the watch requisite, please use cmd.wait or cmd.wait_script"
                ),
            ))
        }
    };
    if stateful {
        reinterpreted(ret)
    } else {
        Ok(ret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_slices() {
        assert_eq!(py_slice_to("abc", -1), "ab");
        assert_eq!(py_slice_to("abc", 1), "a");
        assert_eq!(py_slice_to("", -1), "");
    }

    #[test]
    fn is_true_like_salt() {
        assert_eq!(stateful_is_true(&Value::from("yes")), Ok(true));
        assert_eq!(stateful_is_true(&Value::Bool(false)), Ok(false));
        assert!(stateful_is_true(&Value::from("maybe")).is_err());
    }
}
