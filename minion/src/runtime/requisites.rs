//! Requisites at run time: `check_requisite` (find the chunks a chunk
//! depends on and sum their results into one status) and `call_chunk` (run
//! the missing requisites first, then act on the status: run, skip with
//! Salt's comment, fail, fire `mod_watch`, or do the `prereq` test run).
//!
//! Requisite kinds: require, watch (a require plus `mod_watch` when the
//! module has one), prereq / prerequired, onfail (+ `_any`, `_all`),
//! onchanges, and the `_any` forms. `*_in` and `use` are expanded at compile
//! time (`brine_core::compile::highstate::requisite_in`).

use super::call::watch_to_require;
use super::clock::fake_duration;
use super::{add_ids, as_items, get, get_str, k, truthy, Pass, RunError, State};
use crate::states::lookup;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

/// What `check_requisite` concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Met,
    Unmet,
    Fail,
    Pre,
    Onfail,
    Onchanges,
    Change,
}

/// The requisite chunks by kind (indices into the pass's chunks), in
/// Salt's order of kinds.
pub(crate) type Reqs = Vec<(&'static str, Vec<usize>)>;

/// The kinds `check_requisite` collects.
const CHECKED: &[&str] = &[
    "require",
    "require_any",
    "watch",
    "watch_any",
    "prereq",
    "onfail",
    "onfail_any",
    "onfail_all",
    "onchanges",
    "onchanges_any",
];

/// The kinds whose targets `call_chunk` runs first (and reports as "not
/// found").
const RUN_FIRST: &[&str] = &[
    "require",
    "require_any",
    "watch",
    "watch_any",
    "prereq",
    "onfail",
    "onfail_any",
    "onchanges",
    "onchanges_any",
];

/// Every key whose presence makes `check_requisite` look further.
const REQ_KEYS: &[&str] = &[
    "watch",
    "watch_any",
    "require",
    "require_any",
    "prerequired",
    "prereq",
    "onfail",
    "onfail_any",
    "onfail_all",
    "onchanges",
    "onchanges_any",
];

/// One requisite entry as `(key, value)`: a bare string is an `id`, and
/// `trim_req` drops a `.function` from the key (`file.managed: x` -> `file`).
fn req_pair(req: &Value) -> Option<(String, Value)> {
    match req {
        Value::Str(s) => Some(("id".to_string(), Value::Str(s.clone()))),
        Value::Map(m) => {
            let (key, val) = m.iter().next()?;
            let key = str_of(key);
            let key = key.split('.').next().unwrap_or("").to_string();
            Some((key, val.clone()))
        }
        _ => None,
    }
}

/// The requisite entry as Salt keeps it after `trim_req` (for messages).
fn trimmed(req: &Value) -> Option<Map> {
    let (key, val) = req_pair(req)?;
    let mut m = Map::default();
    m.insert(Value::Str(key), val);
    Some(m)
}

fn result_of(run: &Map) -> Value {
    get(run, "result").cloned().unwrap_or(Value::Null)
}

impl State<'_> {
    /// `check_requisite`: the status of chunk `idx`'s requisites and the
    /// chunks found for each kind.
    pub(crate) fn check_requisite(
        &self,
        pass: &mut Pass,
        idx: usize,
        pre: bool,
    ) -> Result<(Status, Reqs), RunError> {
        let low = &mut pass.chunks[idx];
        // Most chunks have no requisite at all: nothing to look up.
        let is_req = |key: &Value| matches!(key, Value::Str(s) if REQ_KEYS.contains(&s.as_str()));
        if !low.keys().any(is_req) {
            return Ok((Status::Met, vec![]));
        }
        let disabled: Vec<String> = match self.env.opts.get("disabled_requisites") {
            Some(Value::List(l)) => l.iter().map(str_of).collect(),
            Some(Value::Null) | None => vec![],
            Some(v) => vec![str_of(v)],
        };
        let has_mod_watch = lookup(&get_str(low, "state"), "mod_watch").is_some();
        let mut present = false;
        if get(low, "watch").is_some() {
            if has_mod_watch {
                present = true;
            } else {
                watch_to_require(low, "watch", "require");
            }
        }
        if get(low, "watch_any").is_some() {
            if has_mod_watch {
                present = true;
            } else {
                watch_to_require(low, "watch_any", "require_any");
            }
        }
        // The watch keys were handled above.
        if REQ_KEYS
            .iter()
            .filter(|k| !k.starts_with("watch"))
            .any(|key| get(low, key).is_some())
        {
            present = true;
        }
        if !present {
            return Ok((Status::Met, vec![]));
        }
        let mut kinds: Vec<&'static str> = CHECKED.to_vec();
        if pre {
            kinds.push("prerequired");
        }
        let mut reqs: Reqs = Vec::new();
        for r_state in kinds {
            let mut found_idx = Vec::new();
            match get(&pass.chunks[idx], r_state).cloned().as_ref() {
                Some(v) if !v.is_null() => {
                    if disabled.iter().any(|d| d == r_state) {
                        tracing::warn!("The {} requisite has been disabled, Ignoring.", r_state);
                        reqs.push((r_state, found_idx));
                        continue;
                    }
                    for req in as_items(Some(v)) {
                        let Some((key, val)) = req_pair(&req) else {
                            continue;
                        };
                        if val.is_null() {
                            continue;
                        }
                        let hits = if key == "sls" {
                            pass.find_sls(&val)
                        } else {
                            match &val {
                                Value::Str(pat) => pass.find(&key, pat),
                                _ if pass.chunks.is_empty() => vec![],
                                _ => {
                                    return Err(RunError::Render(format!(
                                        "Could not locate requisite of [{key}] present in state with name [{}]",
                                        pass.keys[0].name
                                    )))
                                }
                            }
                        };
                        let found = !hits.is_empty();
                        found_idx.extend(hits);
                        if !found {
                            return Ok((Status::Unmet, vec![]));
                        }
                    }
                }
                _ => {}
            }
            reqs.push((r_state, found_idx));
        }

        let mut fun_stats: Vec<&'static str> = Vec::new();
        for (r_state, idxs) in &reqs {
            let prereq_kind = r_state.starts_with("prereq") && !r_state.starts_with("prerequired");
            let run_dict = if prereq_kind {
                &self.pre
            } else {
                &pass.running
            };
            let mut req_stats: Vec<&'static str> = Vec::new();
            let mut add = |s: &'static str| {
                if !req_stats.contains(&s) {
                    req_stats.push(s);
                }
            };
            for &j in idxs {
                let Some(Value::Map(run)) = run_dict.get(&k(&pass.keys[j].tag)) else {
                    add("unmet");
                    continue;
                };
                let result = result_of(run);
                if r_state.starts_with("onfail") {
                    if matches!(result, Value::Bool(true)) {
                        add("onfail");
                        continue;
                    }
                } else if matches!(result, Value::Bool(false)) {
                    add("fail");
                    continue;
                }
                if r_state.starts_with("onchanges") {
                    if truthy(run, "changes") {
                        add("onchangesmet");
                    } else {
                        add("onchanges");
                    }
                    continue;
                }
                if r_state.starts_with("watch") && truthy(run, "changes") {
                    add("change");
                    continue;
                }
                if r_state.starts_with("prereq")
                    && result.is_null()
                    && !r_state.starts_with("prerequired")
                {
                    add("premet");
                }
                if r_state.starts_with("prereq") && !result.is_null() {
                    if !r_state.starts_with("prerequired") {
                        add("pre");
                    }
                } else if !matches!(get(run, "__state_ran__"), Some(v) if !v.truthy()) {
                    add("met");
                }
            }
            let has = |v: &Vec<&str>, s: &str| v.contains(&s);
            let remove = |v: &mut Vec<&'static str>, s: &str| v.retain(|x| *x != s);
            if r_state.ends_with("_any") || *r_state == "onfail" {
                if has(&req_stats, "met") || has(&req_stats, "change") {
                    remove(&mut req_stats, "fail");
                }
                if has(&req_stats, "onchangesmet") {
                    remove(&mut req_stats, "onchanges");
                    remove(&mut req_stats, "fail");
                }
                if has(&req_stats, "onfail") && has(&req_stats, "met") {
                    remove(&mut req_stats, "onfail");
                }
            }
            if r_state.ends_with("_all") && has(&req_stats, "onfail") && has(&req_stats, "met") {
                remove(&mut req_stats, "met");
            }
            for s in req_stats {
                if !fun_stats.contains(&s) {
                    fun_stats.push(s);
                }
            }
        }
        let has = |s: &str| fun_stats.contains(&s);
        let status = if has("unmet") {
            Status::Unmet
        } else if has("fail") {
            Status::Fail
        } else if has("pre") {
            if has("premet") {
                Status::Met
            } else {
                Status::Pre
            }
        } else if has("onfail") && !has("onchangesmet") {
            Status::Onfail
        } else if has("onchanges") && !has("onchangesmet") {
            Status::Onchanges
        } else if has("change") {
            Status::Change
        } else if has("onfail") {
            Status::Onfail
        } else {
            Status::Met
        };
        Ok((status, reqs))
    }

    /// Run chunk `idx` through `call`, keeping what `call` changes in it.
    fn call_idx(&mut self, pass: &mut Pass, idx: usize) -> Result<Map, RunError> {
        // `call` sees only `running` and this chunk: move the chunk out
        // for the call instead of cloning it.
        let mut low = std::mem::take(&mut pass.chunks[idx]);
        let ret = self.call(&pass.running, &mut low, 1);
        pass.chunks[idx] = low;
        ret
    }

    /// Store a result under `tag` in `running`, or in `pre` for a prereq
    /// test run.
    fn store(&mut self, pass: &mut Pass, tag: &str, prereq: bool, ret: Map) {
        if prereq {
            self.pre.insert(k(tag), Value::Map(ret));
        } else {
            pass.running.insert(k(tag), Value::Map(ret));
        }
    }

    /// A synthesised result of a state that did not run.
    fn skipped(&mut self, low: &Map, result: bool, comment: String, ran: bool) -> Map {
        let (start_time, duration) = fake_duration();
        let mut m = Map::default();
        m.insert(k("changes"), Value::map());
        m.insert(k("result"), Value::Bool(result));
        m.insert(k("duration"), Value::Float(duration));
        m.insert(k("start_time"), Value::Str(start_time));
        m.insert(k("comment"), Value::Str(comment));
        if !ran {
            m.insert(k("__state_ran__"), Value::Bool(false));
        }
        let n = self.next_run_num();
        m.insert(k("__run_num__"), n);
        add_ids(&mut m, low);
        m
    }

    /// "Recursive requisite found" (without a run number increment: the
    /// caller decides, as Salt does).
    fn recursive(&self, low: &Map) -> Map {
        let mut m = Map::default();
        m.insert(k("changes"), Value::map());
        m.insert(k("result"), Value::Bool(false));
        m.insert(k("comment"), Value::from("Recursive requisite found"));
        m.insert(k("__run_num__"), Value::Int(self.run_num));
        add_ids(&mut m, low);
        m
    }

    /// `call_chunk`: run chunk `idx` of the pass after its requisites.
    pub(crate) fn call_chunk(
        &mut self,
        pass: &mut Pass,
        idx: usize,
        depth: u32,
    ) -> Result<(), RunError> {
        let tag = pass.keys[idx].tag.clone();
        if !truthy(&pass.chunks[idx], "prerequired") {
            self.active.insert(tag.clone());
        }
        let mut requisites: Vec<&str> = RUN_FIRST.to_vec();
        let prereq = truthy(&pass.chunks[idx], "__prereq__");
        let (status, reqs) = if !prereq {
            requisites.push("prerequired");
            self.check_requisite(pass, idx, true)?
        } else {
            self.check_requisite(pass, idx, false)?
        };
        match status {
            Status::Unmet => return self.run_requisites(pass, idx, &tag, &requisites, depth),
            Status::Met => {
                let ret = self.call_idx(pass, idx)?;
                self.store(pass, &tag, prereq, ret);
            }
            Status::Fail => {
                let low = pass.chunks[idx].clone();
                if let Some(Value::Map(prev)) = self.pre.get(&k(&tag)).cloned() {
                    // The prereq test run of this chunk: its proposed
                    // changes were never made.
                    let mut ret = prev;
                    if truthy(&ret, "changes") {
                        ret.insert(k("changes"), Value::map());
                    }
                    ret.insert(k("__run_num__"), Value::Int(self.run_num));
                    for key in ["__sls__", "__id__", "name"] {
                        ret.insert(k(key), get(&low, key).cloned().unwrap_or(Value::Null));
                    }
                    pass.running.insert(k(&tag), Value::Map(ret));
                } else {
                    let mut failed: Vec<String> = Vec::new();
                    for (_, idxs) in &reqs {
                        for &j in idxs {
                            let req_low = &pass.chunks[j];
                            let req_tag = k(&pass.keys[j].tag);
                            let req_ret = self.pre.get(&req_tag).or(pass.running.get(&req_tag));
                            let Some(Value::Map(r)) = req_ret else {
                                continue;
                            };
                            if matches!(get(r, "result"), Some(Value::Bool(false))) {
                                let key = format!(
                                    "{}.{}",
                                    get_str(req_low, "__sls__"),
                                    get_str(req_low, "__id__")
                                );
                                if !failed.contains(&key) {
                                    failed.push(key);
                                }
                            }
                        }
                    }
                    let (start_time, duration) = fake_duration();
                    let mut m = Map::default();
                    m.insert(k("changes"), Value::map());
                    m.insert(k("result"), Value::Bool(false));
                    m.insert(k("duration"), Value::Float(duration));
                    m.insert(k("start_time"), Value::Str(start_time));
                    m.insert(
                        k("comment"),
                        Value::Str(format!(
                            "One or more requisite failed: {}",
                            failed.join(", ")
                        )),
                    );
                    m.insert(k("__run_num__"), Value::Int(self.run_num));
                    add_ids(&mut m, &low);
                    self.pre.insert(k(&tag), Value::Map(m.clone()));
                    pass.running.insert(k(&tag), Value::Map(m));
                }
                self.run_num += 1;
            }
            Status::Change if !prereq => {
                let mut ret = self.call_idx(pass, idx)?;
                if !truthy(&ret, "changes") && !truthy(&ret, "skip_watch") {
                    let mut low = pass.chunks[idx].clone();
                    let fun = get(&low, "fun").cloned().unwrap_or(Value::Null);
                    low.insert(k("sfun"), fun);
                    low.insert(k("fun"), Value::from("mod_watch"));
                    low.insert(k("__reqs__"), reqs_value(pass, &reqs));
                    ret = self.call(&pass.running, &mut low, 1)?;
                }
                pass.running.insert(k(&tag), Value::Map(ret));
            }
            Status::Pre => {
                let low = pass.chunks[idx].clone();
                let ret = self.skipped(&low, true, "No changes detected".into(), true);
                self.pre.insert(k(&tag), Value::Map(ret.clone()));
                pass.running.insert(k(&tag), Value::Map(ret));
            }
            Status::Onfail => {
                let low = pass.chunks[idx].clone();
                let ret = self.skipped(
                    &low,
                    true,
                    "State was not run because onfail req did not change".into(),
                    false,
                );
                pass.running.insert(k(&tag), Value::Map(ret));
            }
            Status::Onchanges => {
                let low = pass.chunks[idx].clone();
                let ret = self.skipped(
                    &low,
                    true,
                    "State was not run because none of the onchanges reqs changed".into(),
                    false,
                );
                pass.running.insert(k(&tag), Value::Map(ret));
            }
            Status::Change => {
                // A prereq test run of a watching chunk: run it as is.
                let ret = self.call_idx(pass, idx)?;
                self.store(pass, &tag, true, ret);
            }
        }
        Ok(())
    }

    /// The "unmet" branch of `call_chunk`: report requisites that match no
    /// chunk, else run the requisites that have not run yet (detecting
    /// recursion), then this chunk again.
    fn run_requisites(
        &mut self,
        pass: &mut Pass,
        idx: usize,
        tag: &str,
        requisites: &[&str],
        depth: u32,
    ) -> Result<(), RunError> {
        let low = pass.chunks[idx].clone();
        let mut lost: Vec<(&str, Vec<Map>)> = Vec::new();
        let mut req_idxs: Vec<usize> = Vec::new();
        for requisite in requisites {
            let mut lost_here = Vec::new();
            for req in as_items(get(&low, requisite)) {
                let Some((key, val)) = req_pair(&req) else {
                    continue;
                };
                let hits = if val.is_null() {
                    vec![]
                } else if key == "sls" {
                    pass.find_sls(&val)
                } else {
                    match &val {
                        Value::Str(pat) => pass.find(&key, pat),
                        _ => vec![],
                    }
                };
                let found = !hits.is_empty();
                for j in hits {
                    if *requisite == "prereq" {
                        pass.chunks[j].insert(k("__prereq__"), Value::Bool(true));
                    } else if *requisite == "prerequired" && key != "sls" {
                        pass.chunks[j].insert(k("__prerequired__"), Value::Bool(true));
                    }
                    req_idxs.push(j);
                }
                if !found {
                    if let Some(t) = trimmed(&req) {
                        lost_here.push(t);
                    }
                }
            }
            lost.push((requisite, lost_here));
        }
        if lost.iter().any(|(_, l)| !l.is_empty()) {
            let mut comment = String::from("The following requisites were not found:\n");
            for (requisite, lreqs) in &lost {
                if lreqs.is_empty() {
                    continue;
                }
                comment.push_str(&format!("{}{requisite}:\n", " ".repeat(19)));
                for lreq in lreqs {
                    if let Some((key, val)) = lreq.iter().next() {
                        comment.push_str(&format!(
                            "{}{}: {}\n",
                            " ".repeat(23),
                            str_of(key),
                            str_of(val)
                        ));
                    }
                }
            }
            let prereq = truthy(&low, "__prereq__");
            let (start_time, duration) = fake_duration();
            let mut m = Map::default();
            m.insert(k("changes"), Value::map());
            m.insert(k("result"), Value::Bool(false));
            m.insert(k("duration"), Value::Float(duration));
            m.insert(k("start_time"), Value::Str(start_time));
            m.insert(k("comment"), Value::Str(comment));
            let n = self.next_run_num();
            m.insert(k("__run_num__"), n);
            add_ids(&mut m, &low);
            self.store(pass, tag, prereq, m);
            return Ok(());
        }
        let mut last: Option<usize> = None;
        for j in req_idxs {
            last = Some(j);
            let ctag = pass.keys[j].tag.clone();
            if pass.running.contains_key(&k(&ctag)) {
                continue;
            }
            if self.active.contains(&ctag) {
                if truthy(&pass.chunks[j], "__prerequired__") {
                    // Prereq recursion: test-run this chunk instead.
                    if !self.pre.contains_key(&k(tag)) {
                        pass.chunks[idx].insert(k("__prereq__"), Value::Bool(true));
                        let ret = self.call_idx(pass, idx)?;
                        self.pre.insert(k(&ctag), Value::Map(ret));
                    }
                    return Ok(());
                }
                tracing::error!("Recursive requisite found");
                let m = self.recursive(&pass.chunks[idx]);
                pass.running.insert(k(tag), Value::Map(m));
                self.run_num += 1;
                return Ok(());
            }
            self.call_chunk(pass, j, 0)?;
            if self.check_failhard(&pass.chunks[j], &pass.running) {
                pass.running.insert(k("__FAILHARD__"), Value::Bool(true));
                return Ok(());
            }
        }
        if truthy(&pass.chunks[idx], "__prereq__") {
            let (status, _) = self.check_requisite(pass, idx, false)?;
            let mut ret = self.call_idx(pass, idx)?;
            if !truthy(&ret, "changes") && status == Status::Change {
                let mut w = Map::default();
                w.insert(k("watch"), Value::from("watch"));
                ret.insert(k("changes"), Value::Map(w));
                ret.insert(k("result"), Value::Null);
            }
            self.pre.insert(k(tag), Value::Map(ret));
        } else if depth + 1 >= 20 {
            tracing::error!("Recursive requisite found");
            let m = self.recursive(&pass.chunks[idx]);
            pass.running.insert(k(tag), Value::Map(m));
        } else {
            self.call_chunk(pass, idx, depth + 1)?;
        }
        if let Some(j) = last {
            if self.check_failhard(&pass.chunks[j], &pass.running) {
                pass.running.insert(k("__FAILHARD__"), Value::Bool(true));
            }
        }
        Ok(())
    }
}

/// `__reqs__` for `mod_watch`: `{kind: [chunk, ...]}`.
fn reqs_value(pass: &Pass, reqs: &Reqs) -> Value {
    let mut m = Map::default();
    for (kind, idxs) in reqs {
        let chunks = idxs
            .iter()
            .map(|&j| Value::Map(pass.chunks[j].clone()))
            .collect();
        m.insert(k(kind), Value::List(chunks));
    }
    Value::Map(m)
}
