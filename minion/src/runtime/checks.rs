//! The run checks of `State.call`: `onlyif`, `unless` and `creates`
//! (`_run_check`: decide whether the state runs at all) and `check_cmd`
//! (`_run_check_cmd`: decide whether it succeeded). Shell commands go
//! through `cmd.retcode` with `python_shell=True`; the dict form
//! (`- fun: mod.fun` plus `args`/kwargs/`get_return`) calls an execution
//! function and looks at its return and `__context__["retcode"]`.

use super::{get, k, State};
use crate::modules::traverse;
use brine_core::output::pyrepr::{repr, str_of};
use brine_core::value::{Map, Value};
use std::sync::atomic::Ordering;

/// The `cmd.*` options of the chunk passed on to the check commands.
const POSSIBLE_CMD_ARGS: &[&str] = &[
    "cwd",
    "root",
    "runas",
    "env",
    "prepend_path",
    "umask",
    "timeout",
    "success_retcodes",
];

/// Salt's `KeyError` when an empty `onlyif`/`unless` list set no comment.
const NO_COMMENT: &str = "KeyError: 'comment'";

/// The outcome of one check kind: `result` true means "skip the state".
struct Check {
    result: bool,
    comment: Option<Value>,
    skip_watch: bool,
}

impl State<'_> {
    /// `_run_check`: `{result, comment: [...], __sls__, __id__, name,
    /// skip_watch?}`, or the message of an exception (a missing or failing
    /// check function).
    pub(crate) fn run_check(&self, low: &Map) -> Result<Map, String> {
        let cmd_opts = self.cmd_opts(low);
        let mut result = false;
        let mut comments: Vec<Value> = Vec::new();
        let mut skip_watch: Option<bool> = None;
        if get(low, "onlyif").is_some() {
            let c = self.check_onlyif(low, &cmd_opts)?;
            result = c.result;
            comments.push(c.comment.ok_or(NO_COMMENT)?);
            if c.skip_watch {
                skip_watch = Some(true);
            }
        }
        if get(low, "unless").is_some() {
            let c = self.check_unless(low, &cmd_opts)?;
            result = c.result || result;
            comments.push(c.comment.ok_or(NO_COMMENT)?);
            if c.skip_watch {
                skip_watch = Some(true);
            }
        }
        if let Some(creates) = get(low, "creates") {
            let c = check_creates(creates);
            result = c.result || result;
            comments.push(c.comment.unwrap_or(Value::Null));
            if c.skip_watch {
                skip_watch = Some(true);
            }
        }
        let mut ret = Map::default();
        ret.insert(k("result"), Value::Bool(result));
        ret.insert(k("comment"), Value::List(comments));
        for key in ["__sls__", "__id__", "name"] {
            ret.insert(k(key), get(low, key).cloned().unwrap_or(Value::Null));
        }
        if let Some(sw) = skip_watch {
            ret.insert(k("skip_watch"), Value::Bool(sw));
        }
        Ok(ret)
    }

    /// The keyword arguments for `cmd.retcode` in `onlyif`/`unless`.
    fn cmd_opts(&self, low: &Map) -> Map {
        let exclude: Vec<Value> = match get(low, "cmd_opts_exclude") {
            Some(Value::List(l)) => l.clone(),
            Some(v) => vec![v.clone()],
            None => vec![],
        };
        let excluded = |key: &str| exclude.contains(&k(key));
        let mut opts = Map::default();
        for arg in POSSIBLE_CMD_ARGS {
            if !excluded(arg) {
                opts.insert(k(arg), get(low, arg).cloned().unwrap_or(Value::Null));
            }
        }
        if let (Some(shell), false) = (get(low, "shell"), excluded("shell")) {
            opts.insert(k("shell"), shell.clone());
        } else if let Some(shell) = self.grains_shell() {
            opts.insert(k("shell"), shell);
        }
        opts
    }

    fn grains_shell(&self) -> Option<Value> {
        self.env.ctx.grains().get("shell").cloned()
    }

    /// `cmd.retcode(cmd, ignore_retcode=True, python_shell=True, **opts)`;
    /// `None` when the command could not be run (CommandExecutionError).
    fn cmd_retcode(&self, cmd: &str, opts: &Map) -> Option<i128> {
        let mut kwargs = opts.clone();
        kwargs.insert(k("ignore_retcode"), Value::Bool(true));
        kwargs.insert(k("python_shell"), Value::Bool(true));
        match self
            .env
            .ctx
            .call_raw("cmd.retcode", vec![Value::from(cmd)], kwargs)
        {
            Ok(Value::Int(rc)) => Some(rc),
            Ok(_) | Err(_) => None,
        }
    }

    /// The dict form: call `fun` with `args` and the other keys as kwargs,
    /// then apply `get_return`. Err is the exception Salt would raise.
    fn check_function(&self, entry: &Map) -> Result<Value, String> {
        let mut entry = entry.clone();
        let fun = entry
            .shift_remove(&k("fun"))
            .map(|f| str_of(&f))
            .unwrap_or_default();
        let get_return = entry.shift_remove(&k("get_return"));
        let args = match entry.shift_remove(&k("args")) {
            Some(Value::List(l)) => l,
            Some(v) => vec![v],
            None => vec![],
        };
        let result =
            self.env.ctx.call_raw(&fun, args, entry).map_err(
                |e| match crate::modules::classify(&e) {
                    crate::modules::ErrorKind::Execution(m)
                    | crate::modules::ErrorKind::Args(m)
                    | crate::modules::ErrorKind::Invocation(m) => m,
                },
            )?;
        Ok(match get_return.filter(Value::truthy) {
            Some(path) => traverse(&result, &path, ":").unwrap_or(Value::Null),
            None => result,
        })
    }

    fn context_retcode(&self) -> i128 {
        self.env.ctx.retcode.load(Ordering::SeqCst) as i128
    }

    /// `_run_check_onlyif`: every command must succeed for the state to run.
    fn check_onlyif(&self, low: &Map, cmd_opts: &Map) -> Result<Check, String> {
        let entries = match get(low, "onlyif") {
            Some(Value::List(l)) => l.clone(),
            Some(v) => vec![v.clone()],
            None => vec![],
        };
        let mut c = Check {
            result: false,
            comment: None,
            skip_watch: false,
        };
        // `_check_cmd`: false means stop here.
        let check_cmd = |c: &mut Check, rc: i128| -> bool {
            if rc != 0 && !c.result {
                c.comment = Some(Value::from("onlyif condition is false"));
                c.skip_watch = true;
                c.result = true;
                return false;
            } else if rc == 0 {
                c.comment = Some(Value::from("onlyif condition is true"));
                c.result = false;
            }
            true
        };
        for entry in entries {
            match &entry {
                Value::Str(cmd) => {
                    let rc = self.cmd_retcode(cmd, cmd_opts).unwrap_or(100);
                    tracing::debug!("Last command return code: {}", rc);
                    if !check_cmd(&mut c, rc) {
                        return Ok(c);
                    }
                }
                Value::Map(m) => {
                    if !m.contains_key(&k("fun")) {
                        let msg = format!("no `fun` argument in onlyif: {}", repr(&entry));
                        tracing::warn!("{}", msg);
                        c.comment = Some(Value::Str(msg));
                        return Ok(c);
                    }
                    let result = self.check_function(m)?;
                    let rc = self.context_retcode();
                    if rc != 0 {
                        if !check_cmd(&mut c, rc) {
                            return Ok(c);
                        }
                    } else if !result.truthy() {
                        c.comment = Some(Value::from("onlyif condition is false"));
                        c.skip_watch = true;
                        c.result = true;
                        return Ok(c);
                    } else {
                        c.comment = Some(Value::from("onlyif condition is true"));
                        c.result = false;
                    }
                }
                _ => {
                    c.comment = Some(Value::from("onlyif execution failed, bad type passed"));
                    c.result = false;
                    return Ok(c);
                }
            }
        }
        Ok(c)
    }

    /// `_run_check_unless`: the state runs unless every command succeeds.
    fn check_unless(&self, low: &Map, cmd_opts: &Map) -> Result<Check, String> {
        let entries = match get(low, "unless") {
            Some(Value::List(l)) => l.clone(),
            Some(v) => vec![v.clone()],
            None => vec![],
        };
        let mut c = Check {
            result: false,
            comment: None,
            skip_watch: false,
        };
        // `_check_cmd`: true means stop here (the state runs).
        let check_cmd = |c: &mut Check, rc: i128| -> bool {
            if rc == 0 {
                c.comment = Some(Value::from("unless condition is true"));
                c.skip_watch = true;
                c.result = true;
                false
            } else {
                c.skip_watch = false;
                c.comment = Some(Value::from("unless condition is false"));
                c.result = false;
                true
            }
        };
        for entry in entries {
            match &entry {
                Value::Str(cmd) => {
                    let rc = self.cmd_retcode(cmd, cmd_opts).unwrap_or(0);
                    tracing::debug!("Last command return code: {}", rc);
                    if check_cmd(&mut c, rc) {
                        return Ok(c);
                    }
                }
                Value::Map(m) => {
                    if !m.contains_key(&k("fun")) {
                        let msg = format!("no `fun` argument in unless: {}", repr(&entry));
                        tracing::warn!("{}", msg);
                        c.comment = Some(Value::Str(msg));
                        return Ok(c);
                    }
                    let result = self.check_function(m)?;
                    let rc = self.context_retcode();
                    if rc != 0 {
                        if check_cmd(&mut c, rc) {
                            return Ok(c);
                        }
                    } else if result.truthy() {
                        c.comment = Some(Value::from("unless condition is true"));
                        c.skip_watch = true;
                        c.result = true;
                    } else {
                        c.comment = Some(Value::from("unless condition is false"));
                        c.result = false;
                        return Ok(c);
                    }
                }
                _ => {
                    c.comment = Some(Value::from("unless condition is false, bad type passed"));
                    c.result = false;
                }
            }
        }
        Ok(c)
    }

    /// `_run_check_cmd`: `{result, comment, __sls__, __id__, name}`. Like
    /// Salt, a string is iterated character by character.
    pub(crate) fn run_check_cmd(&self, low: &Map) -> Map {
        let mut result = false;
        let mut comment: Option<&str> = None;
        let mut opts = Map::default();
        if let Some(shell) = self.grains_shell() {
            opts.insert(k("shell"), shell);
        }
        for entry in super::as_items(get(low, "check_cmd")) {
            let rc = self.cmd_retcode(&str_of(&entry), &opts).unwrap_or(1);
            tracing::debug!("Last command return code: {}", rc);
            if rc == 0 && !result {
                comment = Some("check_cmd determined the state succeeded");
                result = true;
            } else if rc != 0 {
                comment = Some("check_cmd determined the state failed");
                result = false;
                break;
            }
        }
        let mut ret = Map::default();
        ret.insert(k("result"), Value::Bool(result));
        if let Some(c) = comment {
            ret.insert(k("comment"), Value::from(c));
        }
        for key in ["__sls__", "__id__", "name"] {
            ret.insert(k(key), get(low, key).cloned().unwrap_or(Value::Null));
        }
        ret
    }
}

/// `_run_check_creates`: skip when the file (or all listed files) exist.
fn check_creates(creates: &Value) -> Check {
    let exists = |p: &Value| match p {
        Value::Str(s) => std::path::Path::new(s).exists(),
        _ => false,
    };
    match creates {
        Value::Str(s) if exists(creates) => Check {
            result: true,
            comment: Some(Value::Str(format!("{s} exists"))),
            skip_watch: true,
        },
        Value::List(l) if l.iter().all(exists) => Check {
            result: true,
            comment: Some(Value::from("All files in creates exist")),
            skip_watch: true,
        },
        _ => Check {
            result: false,
            comment: Some(Value::from("Creates files not found")),
            skip_watch: false,
        },
    }
}
