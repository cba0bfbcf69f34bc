//! Execution modules: one file per Salt module, and the registry that
//! implements [`Functions`] for templates and `brine-call`.
//!
//! Every function has the same shape, [`ModFn`]: the call's [`Context`],
//! positional arguments and keyword arguments in, a value or an error
//! message out. A module exposes `pub const FUNCTIONS: &[(&str, ModFn)]`;
//! adding one is a new file plus two lines here (`pub mod`, [`MODULES`]).
//!
//! Error kinds: a plain `Err` string is a `CommandExecutionError` (salt-call
//! prints "Error running 'fun': msg"). Bad arguments are made with
//! [`invalid_args`] (Python's `TypeError`) or [`invocation_error`] (Salt's
//! `SaltInvocationError`); [`classify`] tells them apart, and
//! [`Functions::call`] strips the markers for templates.

pub mod cmd;
pub mod config;
pub mod cp;
pub mod cron;
pub mod defaults;
pub mod docker;
pub mod environ;
pub mod file;
pub mod file_edit;
pub mod grains;
pub mod group;
pub mod hashutil;
pub mod log;
#[path = "match.rs"]
pub mod match_;
pub mod mine;
pub mod mount;
pub mod network;
pub mod pillar;
pub mod pkg;
pub mod pkg_repo;
pub mod saltutil;
pub mod sdb;
pub mod service;
pub mod slsutil;
pub mod state;
pub mod sysctl;
pub mod test;
pub mod user;

use brine_core::fileclient::{FileClient, LocalFileClient};
use brine_core::functions::Functions;
use brine_core::value::{Map, Value};
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A master this minion talks to (brine-minion's agent): where salt://
/// files and the pillar come from instead of the local roots, and a
/// request channel for functions that ask the master (`mine.get`, events).
pub trait Remote: Send + Sync {
    /// A file client over the master's file server.
    fn file_client(&self) -> Arc<dyn FileClient>;
    /// The pillar the master compiles for this minion (`_pillar`), for
    /// `opts`' saltenv/pillarenv and `pillar_override`.
    fn pillar(
        &self,
        opts: &Value,
        grains: &Value,
        pillar_override: Option<&Value>,
    ) -> Result<Value, String>;
    /// An encrypted request (`cmd` and its arguments): the master's answer.
    fn request(&self, load: Map) -> Result<Value, String>;
}

/// An execution function.
pub type ModFn = fn(&Context, Vec<Value>, Map) -> Result<Value, String>;

/// Every module: (Salt's module name, its functions).
pub const MODULES: &[(&str, &[(&str, ModFn)])] = &[
    ("cmd", cmd::FUNCTIONS),
    ("config", config::FUNCTIONS),
    ("cp", cp::FUNCTIONS),
    ("cron", cron::FUNCTIONS),
    ("defaults", defaults::FUNCTIONS),
    ("docker", docker::FUNCTIONS),
    ("environ", environ::FUNCTIONS),
    ("file", file::FUNCTIONS),
    ("file", file_edit::FUNCTIONS),
    ("grains", grains::FUNCTIONS),
    ("group", group::FUNCTIONS),
    ("hashutil", hashutil::FUNCTIONS),
    ("log", log::FUNCTIONS),
    ("match", match_::FUNCTIONS),
    ("mine", mine::FUNCTIONS),
    ("mount", mount::FUNCTIONS),
    ("network", network::FUNCTIONS),
    ("pillar", pillar::FUNCTIONS),
    ("pkg", pkg::FUNCTIONS),
    ("pkg", pkg_repo::FUNCTIONS),
    ("saltutil", saltutil::FUNCTIONS),
    ("sdb", sdb::FUNCTIONS),
    ("service", service::FUNCTIONS),
    ("slsutil", slsutil::FUNCTIONS),
    ("state", state::FUNCTIONS),
    ("sysctl", sysctl::FUNCTIONS),
    ("test", test::FUNCTIONS),
    ("user", user::FUNCTIONS),
];

const INVALID_KWARGS: &str = "The following keyword arguments are not valid: ";
const MARK_ARGS: &str = "\u{1}args\u{1}";
const MARK_INVOCATION: &str = "\u{1}invocation\u{1}";

/// How an error should be reported (salt-call reports each differently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// `CommandExecutionError`: "Error running 'fun': msg".
    Execution(String),
    /// Python `TypeError` from binding arguments: "Passed invalid arguments".
    Args(String),
    /// `SaltInvocationError`: the message alone.
    Invocation(String),
}

/// A `TypeError` while binding arguments.
pub fn invalid_args(msg: impl std::fmt::Display) -> String {
    format!("{MARK_ARGS}{msg}")
}

/// A `SaltInvocationError`.
pub fn invocation_error(msg: impl std::fmt::Display) -> String {
    format!("{MARK_INVOCATION}{msg}")
}

/// Split an error string from a [`ModFn`] into its kind.
pub fn classify(err: &str) -> ErrorKind {
    if let Some(m) = err.strip_prefix(MARK_ARGS) {
        ErrorKind::Args(m.to_string())
    } else if let Some(m) = err.strip_prefix(MARK_INVOCATION) {
        ErrorKind::Invocation(m.to_string())
    } else {
        ErrorKind::Execution(err.to_string())
    }
}

/// Salt's message for a missing function.
pub fn missing_fun_string(fun: &str) -> String {
    format!("'{fun}' is not available.")
}

/// A minion's view of itself for one run: opts, grains and pillar (both
/// computed on first use), the function table, and `__context__["retcode"]`.
pub struct Context {
    pub opts: Value,
    grains: OnceLock<Value>,
    pillar: OnceLock<Arc<Value>>,
    pillar_compiling: AtomicBool,
    /// The pillar of the compile in progress (`pillar=` override, other
    /// pillarenv), which template calls see instead of the minion's.
    active_pillar: Mutex<Option<Arc<Value>>>,
    /// The opts of the state compile in progress (`BaseHighState`'s, with
    /// `state_top` as a URL & co.), which template calls see as `__opts__`.
    active_opts: Mutex<Option<Arc<Value>>>,
    /// `__context__["retcode"]`, set by cmd.* and state.*.
    pub retcode: AtomicI32,
    /// Whether the current call came from the command line (`__pub_jid`
    /// present), as opposed to a template.
    pub from_cli: AtomicBool,
    table: BTreeMap<String, ModFn>,
    empty: Arc<Value>,
    remote: Option<Arc<dyn Remote>>,
}

impl Context {
    /// A context over `opts` (a map, e.g. from `load_minion_config`).
    pub fn new(opts: Value) -> Context {
        let mut table = BTreeMap::new();
        for (module, funs) in MODULES {
            for (name, f) in *funs {
                table.insert(format!("{module}.{name}"), *f);
            }
        }
        Context {
            opts,
            grains: OnceLock::new(),
            pillar: OnceLock::new(),
            pillar_compiling: AtomicBool::new(false),
            active_pillar: Mutex::new(None),
            active_opts: Mutex::new(None),
            retcode: AtomicI32::new(0),
            from_cli: AtomicBool::new(false),
            table,
            empty: Arc::new(Value::map()),
            remote: None,
        }
    }

    /// Take salt:// files and the pillar from `remote` (a master) instead
    /// of the local `file_roots` / `pillar_roots`.
    pub fn with_remote(mut self, remote: Arc<dyn Remote>) -> Context {
        self.remote = Some(remote);
        self
    }

    /// The master this context talks to, if any.
    pub fn remote(&self) -> Option<&Arc<dyn Remote>> {
        self.remote.as_ref()
    }

    /// The file client for salt:// URLs: the master's when there is one,
    /// else `opts["file_roots"]` on disk.
    pub fn file_client(&self, opts: &Value) -> Arc<dyn FileClient> {
        match &self.remote {
            Some(r) => r.file_client(),
            None => Arc::new(roots_client(opts, "file_roots")),
        }
    }

    /// Use these grains instead of computing them.
    pub fn with_grains(self, grains: Value) -> Context {
        let _ = self.grains.set(grains);
        self
    }

    /// Use this pillar instead of compiling it.
    pub fn with_pillar(self, pillar: Value) -> Context {
        let _ = self.pillar.set(Arc::new(pillar));
        self
    }

    /// `__grains__`.
    pub fn grains(&self) -> &Value {
        self.grains
            .get_or_init(|| Value::Map(load_grains(&self.opts)))
    }

    /// `__pillar__`: compiled from `pillar_roots` on first use. While the
    /// pillar itself is being rendered it is empty (as Salt's initial pillar).
    pub fn pillar(&self) -> Arc<Value> {
        if let Some(p) = self.active_pillar.lock().ok().and_then(|a| a.clone()) {
            return p;
        }
        if let Some(p) = self.pillar.get() {
            return p.clone();
        }
        if self.pillar_compiling.swap(true, Ordering::SeqCst) {
            return self.empty.clone();
        }
        let p = self.compile_pillar(&self.opts);
        self.pillar_compiling.store(false, Ordering::SeqCst);
        self.pillar.get_or_init(|| Arc::new(p)).clone()
    }

    /// Run `f` with `pillar` as the pillar template calls see.
    pub fn with_active_pillar<T>(&self, pillar: Value, f: impl FnOnce() -> T) -> T {
        let prev = self
            .active_pillar
            .lock()
            .ok()
            .and_then(|mut a| a.replace(Arc::new(pillar)));
        let out = f();
        if let Ok(mut a) = self.active_pillar.lock() {
            *a = prev;
        }
        out
    }

    /// The opts of the state compile in progress, if any (else use `opts`).
    pub fn active_opts(&self) -> Option<Arc<Value>> {
        self.active_opts.lock().ok().and_then(|a| a.clone())
    }

    /// Run `f` with `opts` as the opts template calls see.
    pub fn with_active_opts<T>(&self, opts: Value, f: impl FnOnce() -> T) -> T {
        let prev = self
            .active_opts
            .lock()
            .ok()
            .and_then(|mut a| a.replace(Arc::new(opts)));
        let out = f();
        if let Ok(mut a) = self.active_opts.lock() {
            *a = prev;
        }
        out
    }

    /// Compile a pillar for `opts` (which may differ from the context's, e.g.
    /// another `pillarenv`).
    pub fn compile_pillar(&self, opts: &Value) -> Value {
        if let Some(r) = &self.remote {
            return match r.pillar(opts, self.grains(), None) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("Pillar from the master failed: {e}");
                    let mut m = Map::default();
                    m.insert(
                        Value::from("_errors"),
                        Value::List(vec![Value::from(e.as_str())]),
                    );
                    Value::Map(m)
                }
            };
        }
        let client = roots_client(opts, "pillar_roots");
        brine_core::compile::compile_pillar(opts, self.grains(), self, &client)
    }

    /// The minion id.
    pub fn id(&self) -> &str {
        self.opts.get("id").and_then(Value::as_str).unwrap_or("")
    }

    pub fn set_retcode(&self, rc: i32) {
        self.retcode.store(rc, Ordering::SeqCst);
    }

    /// Look up a function.
    pub fn function(&self, fun: &str) -> Option<ModFn> {
        self.table.get(fun).copied()
    }

    /// Call `fun`, keeping the error kind markers (see [`classify`]).
    pub fn call_raw(&self, fun: &str, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
        match self.function(fun) {
            Some(f) => f(self, args, kwargs),
            None => Err(missing_fun_string(fun)),
        }
    }
}

impl Functions for Context {
    /// A call from a template: its retcode does not become the job's (Salt
    /// renders with a separate loader and `__context__`).
    fn call(&self, fun: &str, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
        let saved = self.retcode.load(Ordering::SeqCst);
        let ret = self
            .call_raw(fun, args, kwargs)
            .map_err(|e| match classify(&e) {
                // A direct Python call raises TypeError for an unknown
                // keyword (the "not valid" wording is the CLI's).
                ErrorKind::Invocation(m) => match m.strip_prefix(INVALID_KWARGS) {
                    Some(rest) => {
                        let key = rest.split('=').next().unwrap_or(rest);
                        let short = fun.rsplit('.').next().unwrap_or(fun);
                        format!("{short}() got an unexpected keyword argument '{key}'")
                    }
                    None => m,
                },
                ErrorKind::Execution(m) | ErrorKind::Args(m) => m,
            });
        self.retcode.store(saved, Ordering::SeqCst);
        ret
    }
    fn has(&self, fun: &str) -> bool {
        self.table.contains_key(fun)
    }
    fn names(&self) -> Vec<String> {
        self.table.keys().cloned().collect()
    }
}

/// The grains for `opts`: core grains with the config's `grains` over them.
fn load_grains(opts: &Value) -> Map {
    crate::grains::grains(opts)
}

/// A file client over `opts[key]` (`file_roots` or `pillar_roots`).
pub fn roots_client(opts: &Value, key: &str) -> LocalFileClient {
    let mut roots: IndexMap<String, Vec<PathBuf>> = IndexMap::new();
    if let Some(Value::Map(m)) = opts.get(key) {
        for (env, dirs) in m {
            let env = brine_core::output::pyrepr::str_of(env);
            let dirs = dirs
                .as_list()
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_str)
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default();
            roots.insert(env, dirs);
        }
    }
    LocalFileClient::new(roots)
}

/// Bind arguments to parameters as Python does for
/// `def fun(p0, p1=..., *args, **kwargs)`.
#[derive(Debug)]
pub struct Bound {
    /// One slot per declared parameter.
    pub params: Vec<Option<Value>>,
    /// Extra positional arguments (`*args`).
    pub rest: Vec<Value>,
    /// Extra keyword arguments (`**kwargs`), `__pub_*` removed.
    pub kwargs: Map,
}

impl Bound {
    /// The value of parameter `i`, or `default`.
    pub fn get(&self, i: usize, default: Value) -> Value {
        self.params.get(i).cloned().flatten().unwrap_or(default)
    }
    /// Parameter `i` if it was given and is not None.
    pub fn opt(&self, i: usize) -> Option<&Value> {
        self.params
            .get(i)
            .and_then(|p| p.as_ref())
            .filter(|v| !v.is_null())
    }
    /// Parameter `i` as a string (Python `str()` of non-strings).
    pub fn str(&self, i: usize) -> Option<String> {
        self.opt(i).map(brine_core::output::pyrepr::str_of)
    }
}

/// Bind `args`/`kwargs` to `names` (the first `required` are mandatory);
/// `varargs`/`varkw` accept extras. Errors read like Python's.
pub fn bind(
    fun: &str,
    names: &[&str],
    required: usize,
    varargs: bool,
    varkw: bool,
    args: Vec<Value>,
    mut kwargs: Map,
) -> Result<Bound, String> {
    let short = fun.rsplit('.').next().unwrap_or(fun);
    kwargs.retain(|k, _| !k.as_str().is_some_and(|s| s.starts_with("__pub_")));
    let mut params: Vec<Option<Value>> = vec![None; names.len()];
    let mut rest = Vec::new();
    let given = args.len();
    for (i, a) in args.into_iter().enumerate() {
        if i < names.len() {
            params[i] = Some(a);
        } else if varargs {
            rest.push(a);
        } else {
            let max = names.len();
            let takes = if required == max {
                format!(
                    "{max} positional argument{}",
                    if max == 1 { "" } else { "s" }
                )
            } else {
                format!("from {required} to {max} positional arguments")
            };
            let were = if given == 1 { "was" } else { "were" };
            return Err(invalid_args(format!(
                "{short}() takes {takes} but {given} {were} given"
            )));
        }
    }
    let mut extra = Map::default();
    let mut invalid = Vec::new();
    for (k, v) in kwargs {
        let pos = k.as_str().and_then(|s| names.iter().position(|n| *n == s));
        match pos {
            Some(i) if params[i].is_some() => {
                return Err(invalid_args(format!(
                    "{short}() got multiple values for argument '{}'",
                    names[i]
                )))
            }
            Some(i) => params[i] = Some(v),
            None if varkw => {
                extra.insert(k, v);
            }
            None => invalid.push(format!(
                "{}={}",
                brine_core::output::pyrepr::str_of(&k),
                brine_core::output::pyrepr::str_of(&v)
            )),
        }
    }
    if !invalid.is_empty() {
        return Err(invocation_error(format!(
            "{INVALID_KWARGS}{}",
            invalid.join(", ")
        )));
    }
    let missing: Vec<&str> = (0..required)
        .filter(|i| params[*i].is_none())
        .map(|i| names[i])
        .collect();
    if !missing.is_empty() {
        let n = missing.len();
        let list = match n {
            1 => format!("'{}'", missing[0]),
            _ => {
                let quoted: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
                format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1])
            }
        };
        return Err(invalid_args(format!(
            "{short}() missing {n} required positional argument{}: {list}",
            if n == 1 { "" } else { "s" }
        )));
    }
    Ok(Bound {
        params,
        rest,
        kwargs: extra,
    })
}

/// `salt.utils.data.traverse_dict_and_list`: walk `key` split on
/// `delimiter` through maps and lists; `None` where Salt returns `default`.
pub fn traverse(data: &Value, key: &Value, delimiter: &str) -> Option<Value> {
    let parts: Vec<Value> = match key {
        Value::Str(s) => s.split(delimiter).map(Value::from).collect(),
        Value::Int(_) => vec![key.clone()],
        Value::List(l) => l.clone(),
        other => vec![other.clone()],
    };
    let mut ptr = data;
    for each in &parts {
        match ptr {
            Value::List(l) => {
                let idx: Option<i128> = match each {
                    Value::Str(s) => s.trim().parse::<i128>().ok(),
                    Value::Int(i) => Some(*i),
                    Value::Bool(b) => Some(*b as i128),
                    _ => None,
                };
                let lookup = match idx {
                    Some(i) => Value::Int(i),
                    None => each.clone(),
                };
                let embedded = l
                    .iter()
                    .filter_map(Value::as_map)
                    .find_map(|m| m.get(&lookup));
                match (embedded, idx) {
                    (Some(v), _) => ptr = v,
                    (None, Some(i)) => {
                        let len = l.len() as i128;
                        let i = if i < 0 { i + len } else { i };
                        if i < 0 || i >= len {
                            return None;
                        }
                        ptr = &l[i as usize];
                    }
                    (None, None) => return None,
                }
            }
            Value::Map(m) => match m.get(each) {
                Some(v) => ptr = v,
                None => {
                    let Value::Str(s) = each else { return None };
                    let loaded = yamlify_arg(s);
                    if loaded == *each {
                        return None;
                    }
                    ptr = m.get(&loaded)?;
                }
            },
            _ => return None,
        }
    }
    Some(ptr.clone())
}

/// `salt.utils.args.yamlify_arg`: a CLI string to the value Salt passes.
pub fn yamlify_arg(arg: &str) -> Value {
    let original = || Value::Str(arg.to_string());
    let trimmed = arg.trim();
    if trimmed.is_empty() || trimmed == "---" || trimmed == "..." {
        return original();
    }
    if arg.contains('_') && trimmed.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return original();
    }
    if arg.contains(['\t', '\r', '\n']) {
        return original();
    }
    if arg.contains('#') {
        return match brine_core::yaml::load(arg) {
            Ok(Value::Str(_)) | Ok(Value::Null) | Err(_) => original(),
            Ok(v) => v,
        };
    }
    if arg == "None" {
        return Value::Null;
    }
    let Ok(v) = brine_core::yaml::load(arg) else {
        return original();
    };
    match v {
        Value::Map(_) => {
            if arg.starts_with('{') {
                v
            } else {
                original()
            }
        }
        Value::List(_) => {
            if arg.starts_with('[') {
                v
            } else {
                original()
            }
        }
        Value::Str(ref s) if s.is_empty() && (arg == "|" || arg == "!") => original(),
        Value::Null if trimmed.starts_with('#') || arg == "!" => original(),
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_) => v,
        _ => original(),
    }
}

/// `KWARG_REGEX` = `^([^\d\W][\w.-]*)=(?!=)(.*)$`: `(name, value)` when the
/// string is a `key=value` argument.
pub fn parse_kwarg(s: &str) -> Option<(&str, &str)> {
    let eq = s.find('=')?;
    let (name, rest) = (&s[..eq], &s[eq + 1..]);
    let mut chars = name.chars();
    let first = chars.next()?;
    let word = |c: char| c.is_alphanumeric() || c == '_';
    if !word(first) || first.is_numeric() {
        return None;
    }
    if !chars.all(|c| word(c) || c == '.' || c == '-') {
        return None;
    }
    if rest.starts_with('=') {
        return None;
    }
    // `.` does not match a newline in `(.*)$`.
    if rest.contains('\n') {
        return None;
    }
    Some((name, rest))
}

/// `salt.utils.args.parse_input(args, condition=False)`: CLI words to
/// positional args and kwargs, values YAML-parsed as Salt does.
pub fn parse_input(words: &[String]) -> (Vec<Value>, Map) {
    let mut args = Vec::new();
    let mut kwargs = Map::default();
    for w in words {
        match parse_kwarg(w) {
            Some((k, v)) => {
                kwargs.insert(Value::from(k), yamlify_arg(v));
            }
            None => args.push(yamlify_arg(w)),
        }
    }
    (args, kwargs)
}

/// `salt.utils.args.split_input`: a list as is, a string split on commas.
pub fn split_input(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().map(brine_core::output::pyrepr::str_of).collect(),
        other => brine_core::output::pyrepr::str_of(other)
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
    }
}

/// `salt.utils.data.is_true`: numbers (and numeric strings) above zero,
/// the string "true" in any case, else Python truthiness.
pub fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Int(i) => *i > 0,
        Value::Float(f) => *f > 0.0,
        Value::Str(s) => match s.trim().parse::<f64>() {
            Ok(f) => f > 0.0,
            Err(_) => s.eq_ignore_ascii_case("true"),
        },
        other => other.truthy(),
    }
}

#[cfg(test)]
mod tests;
