//! The state runtime (salt/state.py `State`): lowstate chunks in, results
//! out. Requisites, ordering, `mod_watch`, `prereq`, `listen`, `onlyif`/
//! `unless`/`creates`/`check_cmd`, `retry`, `failhard`, test mode and the
//! run lock live here; the state functions themselves are in
//! [`crate::states`].
//!
//! Layout, one concern per file:
//! - this file: [`State`] (one run: run counter, `pre` results, the active
//!   set), `call_chunks`, failhard, and shared helpers (tags, keywords).
//! - [`call`]: `State.call`: verify_data, format_call, the state function
//!   call (errors and panics become failed states), check_cmd, retry.
//! - [`requisites`]: `check_requisite` and `call_chunk`.
//! - [`checks`]: `onlyif` / `unless` / `creates` / `check_cmd`.
//! - [`listen`]: `call_listen` (the `listen` / `listen_in` mod_watch pass).
//! - [`result`]: `check_result` (the job's success, with `onfail_stop`).
//! - [`lock`]: the run lock (one state run at a time per cachedir).
//! - [`clock`]: start times, durations, job ids.
//! - [`output`]: the `highstate` outputter for state results.
//!
//! Results are kept as Salt's dicts ([`Map`]s keyed by tag) because they
//! are output as is, read back by requisites, and handed to state functions
//! as `__running__`.

pub mod call;
mod checks;
pub mod clock;
mod listen;
pub mod lock;
mod requisites;
pub mod result;

use crate::modules::Context;
use brine_core::fileclient::FileClient;
use brine_core::matcher::fnmatch::fnmatch;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Salt's `STATE_REQUISITE_KEYWORDS`.
pub const STATE_REQUISITE_KEYWORDS: &[&str] = &[
    "onchanges",
    "onchanges_any",
    "onfail",
    "onfail_any",
    "onfail_all",
    "onfail_stop",
    "prereq",
    "prerequired",
    "watch",
    "watch_any",
    "require",
    "require_any",
    "listen",
];

/// Salt's `STATE_REQUISITE_IN_KEYWORDS`.
pub const STATE_REQUISITE_IN_KEYWORDS: &[&str] = &[
    "onchanges_in",
    "onfail_in",
    "prereq_in",
    "watch_in",
    "require_in",
    "listen_in",
];

/// Salt's `STATE_RUNTIME_KEYWORDS`.
pub const STATE_RUNTIME_KEYWORDS: &[&str] = &[
    "fun",
    "state",
    "check_cmd",
    "cmd_opts_exclude",
    "failhard",
    "onlyif",
    "unless",
    "creates",
    "retry",
    "order",
    "parallel",
    "prereq",
    "prereq_in",
    "prerequired",
    "reload_modules",
    "reload_grains",
    "reload_pillar",
    "runas",
    "runas_password",
    "fire_event",
    "saltenv",
    "umask",
    "use",
    "use_in",
    "__env__",
    "__sls__",
    "__id__",
    "__sls_included_from__",
    "__orchestration_jid__",
    "__pub_user",
    "__pub_arg",
    "__pub_jid",
    "__pub_fun",
    "__pub_tgt",
    "__pub_ret",
    "__pub_pid",
    "__pub_tgt_type",
    "__prereq__",
    "__prerequired__",
    "__umask__",
];

/// `STATE_INTERNAL_KEYWORDS`: keys never passed to a state function as
/// keyword arguments (nor reported as invalid ones).
pub fn is_internal_keyword(key: &str) -> bool {
    STATE_REQUISITE_KEYWORDS.contains(&key)
        || STATE_REQUISITE_IN_KEYWORDS.contains(&key)
        || STATE_RUNTIME_KEYWORDS.contains(&key)
}

/// An error that aborts the whole run, as an uncaught exception does in
/// Salt's `State`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// `format_call`'s `SaltInvocationError` (an invalid keyword argument):
    /// salt-call reports "Passed invalid arguments: ...".
    #[error("{0}")]
    InvalidArgs(String),
    /// `check_requisite`'s `SaltRenderError` (a requisite that is not a
    /// string).
    #[error("{0}")]
    Render(String),
}

/// The running dict: results by tag, in the order they were produced.
pub type Running = Map;

/// Key helper: a string key.
pub(crate) fn k(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// A borrowed string key for [`Map`] lookups without building a
/// `Value::Str` (no allocation): it hashes and compares as `Value::Str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrKey<'a>(pub &'a str);

impl std::hash::Hash for StrKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Must match `Value::Str(s)`'s hash (checked by a test below).
        self.0.hash(state)
    }
}

impl indexmap::Equivalent<Value> for StrKey<'_> {
    fn equivalent(&self, key: &Value) -> bool {
        matches!(key, Value::Str(s) if s == self.0)
    }
}

/// `low[key]`, if present (no allocation).
pub fn get<'a>(m: &'a Map, key: &str) -> Option<&'a Value> {
    m.get(&StrKey(key))
}

/// `low.get(key)` with Python truthiness.
pub(crate) fn truthy(m: &Map, key: &str) -> bool {
    get(m, key).is_some_and(Value::truthy)
}

/// `str(low[key])`, or "" when absent.
pub(crate) fn get_str(m: &Map, key: &str) -> String {
    get(m, key).map(str_of).unwrap_or_default()
}

/// `_gen_tag`: `state_|-__id___|-name_|-fun`.
pub fn gen_tag(low: &Map) -> String {
    let mut tag = String::with_capacity(64);
    for (i, key) in ["state", "__id__", "name", "fun"].into_iter().enumerate() {
        if i > 0 {
            tag.push_str("_|-");
        }
        match get(low, key) {
            Some(Value::Str(s)) => tag.push_str(s),
            Some(v) => tag.push_str(&str_of(v)),
            None => {}
        }
    }
    tag
}

/// Copy `__sls__`, `__id__` and `name` from the chunk onto a result (in
/// that order; absent keys become None), as Salt's synthesised results do.
pub(crate) fn add_ids(ret: &mut Map, low: &Map) {
    for key in ["__sls__", "__id__", "name"] {
        ret.insert(k(key), get(low, key).cloned().unwrap_or(Value::Null));
    }
}

/// A list-valued chunk key (requisites): a list as is, anything else
/// (None, a lone string or map) as Salt would iterate it.
pub(crate) fn as_items(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::List(l)) => l.clone(),
        Some(Value::Map(m)) => m.keys().cloned().collect(),
        Some(Value::Str(s)) => s.chars().map(|c| Value::Str(c.to_string())).collect(),
        _ => vec![],
    }
}

/// Everything a run needs from the outside.
pub struct Env<'a> {
    pub ctx: &'a Context,
    /// The run's opts (`failhard`, `disabled_requisites`, `grains`, ...).
    pub opts: &'a Value,
    /// Resolves `salt://` for the states.
    pub files: &'a dyn FileClient,
    /// `opts["test"]`.
    pub test: bool,
    /// `mock=True`: verify and order everything, call no state function
    /// (each result is "Not called, mocked").
    pub mocked: bool,
}

/// One chunk list being run and its results (Salt passes `chunks` and
/// `running` around; `call_listen` starts a second pass over new chunks).
/// The chunks' identities (state, ID, name, tag) never change during a
/// pass, so they are computed once and indexed for requisite lookups.
pub(crate) struct Pass {
    pub chunks: Vec<Map>,
    pub running: Running,
    pub keys: Vec<ChunkKeys>,
    /// Chunk indices by name and by ID, in chunk order.
    by_word: HashMap<String, Vec<usize>>,
}

/// A chunk's identity as strings.
pub(crate) struct ChunkKeys {
    pub state: String,
    pub id: String,
    pub name: String,
    pub sls: String,
    pub tag: String,
}

impl Pass {
    pub(crate) fn new(chunks: Vec<Map>) -> Pass {
        let keys: Vec<ChunkKeys> = chunks
            .iter()
            .map(|c| ChunkKeys {
                state: get_str(c, "state"),
                id: get_str(c, "__id__"),
                name: get_str(c, "name"),
                sls: get_str(c, "__sls__"),
                tag: gen_tag(c),
            })
            .collect();
        let mut by_word: HashMap<String, Vec<usize>> = HashMap::with_capacity(keys.len() * 2);
        for (i, key) in keys.iter().enumerate() {
            for word in [&key.name, &key.id] {
                let list = by_word.entry(word.clone()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        Pass {
            chunks,
            running: Map::default(),
            keys,
            by_word,
        }
    }

    /// The chunks a `key: pat` requisite names (name or ID glob, same
    /// module unless the key is `id`), in chunk order.
    pub(crate) fn find(&self, key: &str, pat: &str) -> Vec<usize> {
        let module_ok = |i: &usize| key == "id" || self.keys[*i].state == key;
        if !pat.contains(['*', '?', '[']) {
            return match self.by_word.get(pat) {
                Some(list) => list.iter().copied().filter(module_ok).collect(),
                None => vec![],
            };
        }
        (0..self.keys.len())
            .filter(|i| {
                let c = &self.keys[*i];
                module_ok(i) && (fnmatch(&c.name, pat) || fnmatch(&c.id, pat))
            })
            .collect()
    }

    /// The chunks an `sls: pat` requisite names.
    pub(crate) fn find_sls(&self, pat: &Value) -> Vec<usize> {
        (0..self.keys.len())
            .filter(|&i| {
                let by_glob = matches!(pat, Value::Str(p) if fnmatch(&self.keys[i].sls, p));
                by_glob
                    || matches!(get(&self.chunks[i], "__sls_included_from__"),
                        Some(Value::List(l)) if l.contains(pat))
            })
            .collect()
    }
}

/// Salt's `State` for one run.
pub struct State<'a> {
    pub(crate) env: Env<'a>,
    pub(crate) run_num: i128,
    /// Results of `prereq` test runs, by tag.
    pub(crate) pre: Map,
    /// Tags being evaluated in the current top-level chunk (recursion check).
    pub(crate) active: HashSet<String>,
}

impl<'a> State<'a> {
    pub fn new(env: Env<'a>) -> State<'a> {
        State {
            env,
            run_num: 0,
            pre: Map::default(),
            active: HashSet::new(),
        }
    }

    /// The next `__run_num__`.
    pub(crate) fn next_run_num(&mut self) -> Value {
        let n = self.run_num;
        self.run_num += 1;
        Value::Int(n)
    }

    /// `call_high` from the chunks on: `call_chunks` then `call_listen`.
    /// `chunks` are the compiled low chunks (maps; anything else is skipped).
    pub fn call_high_chunks(&mut self, chunks: Vec<Value>) -> Result<Running, RunError> {
        let chunks: Vec<Map> = chunks
            .into_iter()
            .filter_map(|c| match c {
                Value::Map(m) => Some(m),
                _ => None,
            })
            .collect();
        let pass = self.call_chunks(chunks)?;
        self.call_listen(&pass.chunks, pass.running)
    }

    /// `call_chunks`: run every chunk in order (requisites first), stop on
    /// failhard.
    pub(crate) fn call_chunks(&mut self, chunks: Vec<Map>) -> Result<Pass, RunError> {
        let mut pass = Pass::new(chunks);
        let failhard_key = k("__FAILHARD__");
        for i in 0..pass.chunks.len() {
            if pass.running.shift_remove(&failhard_key).is_some() {
                return Ok(pass);
            }
            if !pass.running.contains_key(&k(&pass.keys[i].tag)) {
                self.call_chunk(&mut pass, i, 0)?;
                if self.check_failhard(&pass.chunks[i], &pass.running) {
                    return Ok(pass);
                }
            }
            self.active.clear();
        }
        Ok(pass)
    }

    /// `check_failhard`: whether this chunk's failure stops the run.
    pub(crate) fn check_failhard(&self, low: &Map, running: &Running) -> bool {
        if self.env.test {
            return false;
        }
        let on = match get(low, "failhard") {
            Some(v) => v.truthy(),
            None => self.env.opts.get("failhard").is_some_and(Value::truthy),
        };
        if !on {
            return false;
        }
        match running.get(&k(&gen_tag(low))) {
            Some(Value::Map(r)) => match get(r, "result") {
                Some(Value::Null) | None => false,
                Some(v) => !v.truthy(),
            },
            _ => false,
        }
    }

    /// Run one low chunk outside a highstate (`state.single`): the result.
    pub fn call_single(&mut self, mut low: Map) -> Result<Map, RunError> {
        let running = Map::default();
        self.call(&running, &mut low, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_key_finds_string_keys_only() {
        let mut m = Map::default();
        for i in 0..200 {
            m.insert(Value::Str(format!("key{i}")), Value::Int(i));
        }
        m.insert(Value::Int(7), Value::from("seven"));
        for i in 0..200 {
            assert_eq!(get(&m, &format!("key{i}")), Some(&Value::Int(i)));
        }
        assert_eq!(get(&m, "7"), None);
        assert_eq!(get(&m, "nope"), None);
    }

    #[test]
    fn tags_join_the_four_fields() {
        let mut low = Map::default();
        low.insert(k("state"), Value::from("file"));
        low.insert(k("__id__"), Value::from("x"));
        low.insert(k("name"), Value::Int(3));
        low.insert(k("fun"), Value::from("managed"));
        assert_eq!(gen_tag(&low), "file_|-x_|-3_|-managed");
        low.shift_remove(&k("name"));
        assert_eq!(gen_tag(&low), "file_|-x_|-_|-managed");
    }
}
