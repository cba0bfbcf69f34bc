//! State modules: one file per Salt state module (salt/states/*.py), and
//! the registry the runtime ([`crate::runtime`]) calls them through.
//!
//! Every state function has the same shape, [`StateFn`]: a [`StateCall`]
//! (the minion [`Context`], the low chunk, test mode, the file client) in,
//! a [`Ret`] (Salt's `{name, result, changes, comment}`) out. An `Err(msg)`
//! becomes a failed state whose comment is `msg`, so a state never panics
//! on bad arguments: read arguments through the typed accessors on
//! [`StateCall`], which turn a wrong type into such an error.
//!
//! A module exposes `pub const FUNCTIONS: &[StateFunction]`; `mod_watch`
//! is an ordinary entry where Salt has one. Adding a module is a new file
//! plus two lines here (`pub mod`, [`MODULES`]).

pub mod argtypes;
pub mod cmd;
pub mod cron;
pub mod docker_image;
pub mod file;
pub mod group;
pub mod mount;
pub mod pkg;
pub mod pkgrepo;
pub mod service;
pub mod sysctl;
pub mod test;
pub mod user;

use crate::modules::Context;
use brine_core::fileclient::FileClient;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

/// A state function.
pub type StateFn = fn(&StateCall) -> Result<Ret, String>;

/// One entry of a module's table.
pub struct StateFunction {
    /// Salt's function name (`managed`, `running`, `mod_watch`, ...).
    pub name: &'static str,
    pub fun: StateFn,
    /// The parameters without a default, in order (Salt's argspec; the
    /// runtime reports "Missing parameter X for state mod.fun" when one is
    /// absent from the low chunk). Usually `&["name"]`.
    pub required: &'static [&'static str],
    /// Every parameter the Python function declares (required ones
    /// included), when it has no `**kwargs`; keys outside it are
    /// "invalid keyword argument" errors. `None`: takes `**kwargs`.
    pub params: Option<&'static [&'static str]>,
}

/// Every state module: (Salt's module name, its functions).
pub const MODULES: &[(&str, &[StateFunction])] = &[
    ("cmd", cmd::FUNCTIONS),
    ("cron", cron::FUNCTIONS),
    ("docker_image", docker_image::FUNCTIONS),
    ("file", file::FUNCTIONS),
    ("group", group::FUNCTIONS),
    ("mount", mount::FUNCTIONS),
    ("pkg", pkg::FUNCTIONS),
    ("pkgrepo", pkgrepo::FUNCTIONS),
    ("service", service::FUNCTIONS),
    ("sysctl", sysctl::FUNCTIONS),
    ("test", test::FUNCTIONS),
    ("user", user::FUNCTIONS),
];

/// The state function `module.fun`, if Brine has it.
pub fn lookup(module: &str, fun: &str) -> Option<&'static StateFunction> {
    MODULES
        .iter()
        .find(|(m, _)| *m == module)
        .and_then(|(_, funs)| funs.iter().find(|f| f.name == fun))
}

/// Keys the runtime owns; never passed to a state as arguments
/// (salt/state.py `STATE_INTERNAL_KEYWORDS`).
pub const STATE_INTERNAL_KEYWORDS: &[&str] = &[
    "__any_constraint",
    "__env__",
    "__id__",
    "__orchestration_jid__",
    "__pub_fun",
    "__pub_jid",
    "__pub_pid",
    "__pub_tgt",
    "__pub_tgt_type",
    "__pub_user",
    "__reqs__",
    "__prereq__",
    "__prerequired__",
    "__sls__",
    "__umask__",
    "check_cmd",
    "failhard",
    "fire_event",
    "fun",
    "listen",
    "listen_in",
    "mod_watch",
    "names",
    "onchanges",
    "onchanges_any",
    "onchanges_in",
    "onfail",
    "onfail_all",
    "onfail_any",
    "onfail_in",
    "onfail_stop",
    "onlyif",
    "order",
    "parallel",
    "prereq",
    "prereq_in",
    "prerequired",
    "require",
    "require_any",
    "require_in",
    "reload_grains",
    "reload_modules",
    "reload_pillar",
    "retry",
    "saltenv",
    "state",
    "state_aggregate",
    "unless",
    "use",
    "use_in",
    "watch",
    "watch_any",
    "watch_in",
    "creates",
];

/// One state function call: what Salt's loader injects as `__opts__`,
/// `__grains__`, `__pillar__`, `__salt__`, `__low__`, `__env__` and
/// `__opts__["test"]`, plus the arguments (the low chunk).
pub struct StateCall<'a> {
    pub ctx: &'a Context,
    /// The low chunk (`state`, `fun`, `name`, `__id__`, `__sls__`,
    /// `__env__`, arguments, requisites).
    pub low: &'a Map,
    /// `test=True`: report what would change, change nothing.
    pub test: bool,
    /// `__env__`: the saltenv the state came from.
    pub saltenv: &'a str,
    /// Resolves `salt://` sources in `saltenv`.
    pub files: &'a dyn FileClient,
    /// `__running__`: results so far, by tag (mod_watch and prereq read it).
    pub running: &'a Map,
}

impl StateCall<'_> {
    /// The raw argument `key`, if present and not None.
    pub fn get(&self, key: &str) -> Option<&Value> {
        crate::runtime::get(self.low, key).filter(|v| !v.is_null())
    }

    /// `name` as Python's `str()` (it may be an int in YAML).
    pub fn name(&self) -> String {
        self.get("name").map(str_of).unwrap_or_default()
    }

    /// A string argument: strings as is, numbers as `str()`; lists and
    /// maps are a type error.
    pub fn opt_str(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(v @ (Value::Int(_) | Value::Float(_) | Value::Bool(_))) => Ok(Some(str_of(v))),
            Some(v) => Err(self.type_error(key, "a string", v)),
        }
    }

    /// A boolean argument with Python truthiness for non-bools
    /// (`salt.utils.data.is_true` style: "true"/"yes"/"1" are true).
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Int(i)) => Ok(*i != 0),
            Some(Value::Float(f)) => Ok(*f != 0.0),
            Some(Value::Str(s)) => Ok(matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "true" | "yes" | "1" | "on"
            )),
            Some(v) => Err(self.type_error(key, "a boolean", v)),
        }
    }

    /// An integer argument (ints, or strings of digits).
    pub fn opt_int(&self, key: &str) -> Result<Option<i128>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Int(i)) => Ok(Some(*i)),
            Some(Value::Bool(b)) => Ok(Some(*b as i128)),
            Some(v @ Value::Str(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.type_error(key, "an integer", v)),
            Some(v) => Err(self.type_error(key, "an integer", v)),
        }
    }

    /// A list argument; a single string becomes a one-item list (as most
    /// Salt states accept), a comma-separated string is *not* split.
    pub fn opt_list(&self, key: &str) -> Result<Option<Vec<Value>>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::List(l)) => Ok(Some(l.clone())),
            Some(v @ (Value::Str(_) | Value::Int(_))) => Ok(Some(vec![v.clone()])),
            Some(v) => Err(self.type_error(key, "a list", v)),
        }
    }

    /// A mapping argument.
    pub fn opt_map(&self, key: &str) -> Result<Option<Map>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Map(m)) => Ok(Some(m.clone())),
            Some(v) => Err(self.type_error(key, "a dictionary", v)),
        }
    }

    /// The error for argument `key` of the wrong type.
    pub fn type_error(&self, key: &str, want: &str, got: &Value) -> String {
        format!(
            "Invalid value for '{key}': expected {want}, got {} ({})",
            got.type_name(),
            brine_core::output::pyrepr::repr(got)
        )
    }
}

/// A state's result: Salt's `ret` dict. `result` is `Some(true)`,
/// `Some(false)`, or `None` (test mode: would change).
#[derive(Debug, Clone, PartialEq)]
pub struct Ret {
    pub name: Value,
    pub result: Option<bool>,
    pub changes: Map,
    /// A string, or a list of strings (the runtime joins lists with "\n"
    /// as Salt does).
    pub comment: Value,
    /// Anything else the state adds (`warnings`, `pchanges`, ...).
    pub extra: Map,
}

impl Ret {
    /// `{'name': name, 'result': True, 'changes': {}, 'comment': ''}`.
    pub fn new(name: impl Into<Value>) -> Ret {
        Ret {
            name: name.into(),
            result: Some(true),
            changes: Map::default(),
            comment: Value::from(""),
            extra: Map::default(),
        }
    }

    /// Set result and comment.
    pub fn with(mut self, result: Option<bool>, comment: impl Into<String>) -> Ret {
        self.result = result;
        self.comment = Value::Str(comment.into());
        self
    }

    /// Record one change.
    pub fn change(&mut self, key: &str, value: impl Into<Value>) {
        self.changes.insert(Value::from(key), value.into());
    }

    /// The dict in Salt's key order: name, changes, result, comment, extra.
    pub fn into_map(self) -> Map {
        let mut m = Map::default();
        m.insert(Value::from("name"), self.name);
        m.insert(Value::from("changes"), Value::Map(self.changes));
        m.insert(
            Value::from("result"),
            match self.result {
                Some(b) => Value::Bool(b),
                None => Value::Null,
            },
        );
        m.insert(Value::from("comment"), self.comment);
        for (k, v) in self.extra {
            m.insert(k, v);
        }
        m
    }
}
