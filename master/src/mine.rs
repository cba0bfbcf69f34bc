//! The Salt mine on the master: `_mine` (a minion pushes its mine function
//! results), `_mine_get` (a minion reads other minions' results by target),
//! `_mine_delete` and `_mine_flush`, as salt/daemons/masterapi.py
//! (`RemoteFuncs`) and master.py (`AESFuncs`) do them. Data lives in Salt's
//! minion data cache layout, `cachedir/minions/<id>/mine.p` (msgpack), so a
//! master switched between Salt and Brine keeps its mine.
//!
//! Minion-side ACLs (`mine_functions` entries with `allow_tgt`, stored
//! wrapped as `{"__saltmine_acl__": 1, "__data__": ..., "allow_tgt": ...}`)
//! are honoured; so is the master's `mine_get` ACL when given with
//! [`Mine::with_acl`].

use crate::pillar::{fetch, store, valid_id};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use regex::Regex;
use std::path::{Path, PathBuf};

/// The request commands this module answers.
pub const COMMANDS: &[&str] = &["_mine", "_mine_get", "_mine_delete", "_mine_flush"];

const ACL_ID: &str = "__saltmine_acl__";
const ACL_DATA: &str = "__data__";

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// The mine store under a master cachedir.
pub struct Mine {
    cachedir: PathBuf,
    /// The master's `mine_get` option: minion id regex -> function regexes.
    acl: Option<Value>,
}

impl Mine {
    pub fn new(cachedir: &Path) -> Mine {
        Mine {
            cachedir: cachedir.to_path_buf(),
            acl: None,
        }
    }

    /// Apply the master's `mine_get` ACL (Salt's option of that name).
    pub fn with_acl(mut self, mine_get: Option<Value>) -> Mine {
        self.acl = mine_get;
        self
    }

    /// Answer one mine request; `None` when `cmd` is not a mine command.
    /// `ckminions(tgt, tgt_type)` lists the accepted minions a target
    /// matches (Salt's `CkMinions.check_minions`, greedy off).
    pub fn handle(
        &self,
        cmd: &str,
        load: &Map,
        ckminions: &dyn Fn(&Value, &str) -> Vec<String>,
    ) -> Option<Result<Value, String>> {
        let has = |keys: &[&str]| keys.iter().all(|k| load.contains_key(&s(k)));
        Some(match cmd {
            "_mine" if !has(&["id", "data"]) => Ok(Value::map()),
            "_mine" => self.mine(load),
            "_mine_get" if !has(&["id", "tgt", "fun"]) => Ok(Value::map()),
            "_mine_get" => Ok(self.mine_get(load, ckminions)),
            "_mine_delete" if !has(&["id", "fun"]) => Ok(Value::map()),
            "_mine_delete" => self.mine_delete(load),
            "_mine_flush" if !has(&["id"]) => Ok(Value::map()),
            "_mine_flush" => self.mine_flush(load),
            _ => return None,
        })
    }

    fn id_of(load: &Map) -> Option<String> {
        match load.get(&s("id")) {
            Some(Value::Str(id)) if valid_id(id) => Some(id.clone()),
            _ => None,
        }
    }

    /// Store (merge, or replace with `clear`) a minion's mine data.
    fn mine(&self, load: &Map) -> Result<Value, String> {
        let Some(id) = Self::id_of(load) else {
            return Ok(Value::Bool(false));
        };
        let Some(Value::Map(new)) = load.get(&s("data")) else {
            return Err(format!("_mine from {id}: data must be a dict"));
        };
        let clear = load.get(&s("clear")).is_some_and(Value::truthy);
        let data = match fetch(&self.cachedir, &id, "mine") {
            Some(Value::Map(mut old)) if !clear => {
                for (k, v) in new {
                    old.insert(k.clone(), v.clone());
                }
                old
            }
            _ => new.clone(),
        };
        store(&self.cachedir, &id, "mine", &Value::Map(data)).map_err(|e| e.to_string())?;
        Ok(Value::Bool(true))
    }

    fn mine_delete(&self, load: &Map) -> Result<Value, String> {
        let Some(id) = Self::id_of(load) else {
            return Ok(Value::Bool(false));
        };
        let fun = load.get(&s("fun")).cloned().unwrap_or(Value::Null);
        let mut data = match fetch(&self.cachedir, &id, "mine") {
            Some(Value::Map(m)) => m,
            // Salt's cache answers {} for a missing file: nothing to delete.
            None => return Ok(Value::Bool(true)),
            Some(_) => return Ok(Value::Bool(false)),
        };
        if data.shift_remove(&fun).is_some() {
            store(&self.cachedir, &id, "mine", &Value::Map(data)).map_err(|e| e.to_string())?;
        }
        Ok(Value::Bool(true))
    }

    /// Remove a minion's mine; `False` when it had none (Salt's cache flush).
    fn mine_flush(&self, load: &Map) -> Result<Value, String> {
        let Some(id) = Self::id_of(load) else {
            return Ok(Value::Bool(false));
        };
        let path = self.cachedir.join("minions").join(&id).join("mine.p");
        if !path.is_file() {
            return Ok(Value::Bool(false));
        }
        std::fs::remove_file(&path)
            .map(|_| Value::Bool(true))
            .map_err(|e| format!("There was an error removing \"{}\": {e}", path.display()))
    }

    fn mine_get(&self, load: &Map, ckminions: &dyn Fn(&Value, &str) -> Vec<String>) -> Value {
        let empty = Value::map();
        let (functions, ret_dict) = match load.get(&s("fun")) {
            Some(Value::Str(f)) => {
                let mut funs: Vec<String> = Vec::new();
                for x in f.split(',') {
                    if !funs.iter().any(|y| y == x) {
                        funs.push(x.to_string());
                    }
                }
                let many = funs.len() > 1;
                (funs, many)
            }
            Some(Value::List(l)) => (l.iter().map(str_of).collect(), true),
            _ => return empty,
        };
        let Some(Value::Str(req_id)) = load.get(&s("id")) else {
            return empty;
        };
        let functions = match &self.acl {
            None => functions,
            Some(Value::Map(acl)) => {
                let mut perms: Vec<String> = Vec::new();
                for (pat, funs) in acl {
                    if py_re_match(&str_of(pat), req_id) {
                        if let Value::List(l) = funs {
                            perms.extend(l.iter().map(str_of));
                        }
                    }
                }
                let allowed: Vec<String> = functions
                    .into_iter()
                    .filter(|f| perms.iter().any(|p| py_re_match(p, f)))
                    .collect();
                if allowed.is_empty() {
                    return empty;
                }
                allowed
            }
            Some(_) => return empty,
        };
        if !valid_id(req_id) {
            return empty;
        }
        let tgt_type = match (load.get(&s("expr_form")), load.get(&s("tgt_type"))) {
            (Some(e), None) if !e.is_null() => str_of(e),
            (_, Some(t)) => str_of(t),
            _ => "glob".to_string(),
        };
        let tgt_type = match tgt_type.to_lowercase().as_str() {
            "pillar" => "pillar_exact".to_string(),
            "compound" => "compound_pillar_exact".to_string(),
            _ => tgt_type,
        };
        let tgt = load.get(&s("tgt")).cloned().unwrap_or(Value::Null);
        let mut ret = Map::default();
        for minion in ckminions(&tgt, &tgt_type) {
            let Some(Value::Map(mine)) = fetch(&self.cachedir, &minion, "mine") else {
                continue;
            };
            for function in &functions {
                let Some(entry) = mine.get(&s(function)) else {
                    continue;
                };
                let mut result = entry;
                if let Value::Map(e) = entry {
                    if e.contains_key(&s(ACL_ID)) {
                        result = e.get(&s(ACL_DATA)).unwrap_or(&Value::Null);
                        if let Some(allow_tgt) = e.get(&s("allow_tgt")) {
                            let allow_type = e
                                .get(&s("allow_tgt_type"))
                                .map(str_of)
                                .unwrap_or("glob".into());
                            let allowed = ckminions(allow_tgt, &allow_type);
                            if allowed.is_empty() || !allowed.iter().any(|m| m == req_id) {
                                continue;
                            }
                        }
                    }
                }
                if ret_dict {
                    let slot = ret.entry(s(function)).or_insert_with(Value::map);
                    if let Value::Map(m) = slot {
                        m.insert(s(&minion), result.clone());
                    }
                } else {
                    ret.insert(s(&minion), result.clone());
                }
            }
        }
        Value::Map(ret)
    }
}

/// Python's `re.match(pattern, text)`: anchored at the start only.
fn py_re_match(pattern: &str, text: &str) -> bool {
    match Regex::new(&format!("^(?:{pattern})")) {
        Ok(re) => re.is_match(text),
        Err(_) => false,
    }
}
