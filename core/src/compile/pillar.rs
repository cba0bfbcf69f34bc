//! The pillar compiler (`salt.pillar.Pillar`): pillar top files from
//! `pillar_roots`, matching, SLS rendering with grains, `include` (with
//! `key:` nesting and `defaults`), merging by
//! `pillar_source_merging_strategy`, and errors under `_errors`.

use super::merge::merge;
use super::top::confirm_top;
use super::util::{k, list_states, pstr};
use super::{opt, opt_bool, opt_str};
use crate::fileclient::FileClient;
use crate::functions::Functions;
use crate::matcher::fnmatch::filter;
use crate::matcher::MatchContext;
use crate::render::{render_sls, RenderContext};
use crate::value::{Map, Value};
use indexmap::IndexMap;

struct Pillar<'a> {
    opts: &'a Value,
    grains: &'a Value,
    functions: &'a dyn Functions,
    files: &'a dyn FileClient,
    avail: IndexMap<String, Vec<String>>,
    ignored: IndexMap<String, Vec<String>>,
    strategy: String,
    renderer: String,
    merge_lists: bool,
    /// What templates see as `pillar`: `opts['pillar']` (the pillar from the
    /// previous compilation, `{}` on the first one), as in Salt.
    context: Value,
}

/// What `render_pstate` gives back: the data, or nothing at all.
type PState = Option<Value>;

impl Pillar<'_> {
    fn get_envs(&self) -> Vec<String> {
        let mut envs = vec!["base".to_string()];
        if let Some(Value::Map(pr)) = opt(self.opts, "pillar_roots") {
            for key in pr.keys() {
                let key = pstr(key);
                if !envs.contains(&key) {
                    envs.push(key);
                }
            }
        }
        envs
    }

    fn render(
        &self,
        text: &str,
        path: &str,
        saltenv: &str,
        sls: &str,
        extra: Map,
    ) -> Result<Value, String> {
        if text.trim().is_empty() {
            return Ok(Value::map());
        }
        let ctx = RenderContext {
            opts: self.opts,
            grains: self.grains,
            pillar: &self.context,
            saltenv,
            sls,
            functions: self.functions,
            file_client: self.files,
            extra,
        };
        render_sls(text, path, &self.renderer, &ctx).map_err(|e| e.message)
    }

    fn get_state(&self, sls: &str, saltenv: &str) -> Option<(String, String)> {
        let base = sls.replace('.', "/");
        for path in [format!("{base}.sls"), format!("{base}/init.sls")] {
            if let Ok(Some(fd)) = self.files.get(&path, saltenv) {
                return Some((String::from_utf8_lossy(&fd.bytes).into_owned(), path));
            }
        }
        None
    }

    /// `get_tops` + `merge_tops` + `sort_top_targets`.
    fn get_top(&mut self) -> (Map, Vec<String>) {
        let mut errors = Vec::new();
        let mut tops: IndexMap<String, Vec<Value>> = IndexMap::new();
        let pillarenv = opt(self.opts, "pillarenv").filter(|v| v.truthy()).map(pstr);
        let envs: Vec<String> = match &pillarenv {
            Some(pe) => {
                let known = opt(self.opts, "pillar_roots")
                    .and_then(Value::as_map)
                    .is_some_and(|m| m.contains_key(&k(pe)));
                if known {
                    vec![pe.clone()]
                } else {
                    vec![]
                }
            }
            None => {
                let mut e = self.get_envs();
                if self.strategy == "none" {
                    let only = opt(self.opts, "saltenv")
                        .filter(|v| v.truthy())
                        .map(pstr)
                        .unwrap_or_else(|| "base".into());
                    e.retain(|x| *x == only);
                }
                e
            }
        };
        let state_top = opt_str(self.opts, "state_top", "salt://top.sls");
        let top_path = state_top
            .trim_start_matches("salt://")
            .trim_start_matches('/')
            .to_string();
        for env in envs {
            let Ok(Some(fd)) = self.files.get(&top_path, &env) else {
                continue;
            };
            let text = String::from_utf8_lossy(&fd.bytes).into_owned();
            match self.render(&text, &top_path, &env, "", Map::default()) {
                Ok(v) => tops.entry(env).or_default().push(v),
                Err(e) => {
                    errors.push(format!(
                        "Rendering Primary Top file failed, render error:\n{e}"
                    ));
                    break;
                }
            }
        }
        let mut include: IndexMap<String, Vec<String>> = IndexMap::new();
        for (env, ctops) in tops.iter_mut() {
            for ctop in ctops.iter_mut() {
                if let Value::Map(m) = ctop {
                    if let Some(Value::List(l)) = m.shift_remove(&k("include")) {
                        {
                            include
                                .entry(env.clone())
                                .or_default()
                                .extend(l.iter().map(pstr));
                        }
                    }
                }
            }
        }
        let mut done: IndexMap<String, Vec<String>> = IndexMap::new();
        while !include.is_empty() {
            for (env, states) in std::mem::take(&mut include) {
                for sls in states {
                    if done.get(&env).is_some_and(|d| d.contains(&sls)) {
                        continue;
                    }
                    let rendered = match self.get_state(&sls, &env) {
                        Some((text, path)) => self.render(&text, &path, &env, "", Map::default()),
                        None => Ok(Value::map()),
                    };
                    match rendered {
                        Ok(v) => tops.entry(env.clone()).or_default().push(v),
                        Err(e) => errors.push(format!(
                            "Rendering Top file {sls} failed, render error:\n{e}"
                        )),
                    }
                    done.entry(env.clone()).or_default().push(sls);
                }
            }
        }
        // merge_tops
        let mut top: IndexMap<Value, Map> = IndexMap::new();
        let mut orders: IndexMap<Value, IndexMap<Value, i128>> = IndexMap::new();
        for ctops in tops.values() {
            for ctop in ctops {
                let Value::Map(ctop) = ctop else {
                    errors.push("Error encountered while rendering pillar top file.".into());
                    return (Map::default(), errors);
                };
                for (saltenv, targets) in ctop {
                    if saltenv.as_str() == Some("include") {
                        continue;
                    }
                    let Value::Map(targets) = targets else {
                        errors.push("Error encountered while rendering pillar top file.".into());
                        return (Map::default(), errors);
                    };
                    for (tgt, comps) in targets {
                        let mut matches = Vec::new();
                        let mut states: Vec<Value> = Vec::new();
                        orders
                            .entry(saltenv.clone())
                            .or_default()
                            .insert(tgt.clone(), 0);
                        let mut ignore_missing = false;
                        let comps = match comps {
                            Value::List(l) => l.clone(),
                            Value::Str(_) => comps
                                .as_str()
                                .unwrap_or("")
                                .chars()
                                .map(|c| Value::Str(c.to_string()))
                                .collect(),
                            _ => {
                                errors.push(
                                    "Error encountered while rendering pillar top file.".into(),
                                );
                                return (Map::default(), errors);
                            }
                        };
                        for comp in comps {
                            match &comp {
                                Value::Map(m) => {
                                    if m.contains_key(&k("match")) {
                                        matches.push(comp.clone());
                                    }
                                    if let Some(o) = m.get(&k("order")) {
                                        let o = match o {
                                            Value::Int(i) => *i,
                                            Value::Str(s) => s.trim().parse().unwrap_or(0),
                                            Value::Float(f) => *f as i128,
                                            _ => 0,
                                        };
                                        orders
                                            .entry(saltenv.clone())
                                            .or_default()
                                            .insert(tgt.clone(), o);
                                    }
                                    if m.get(&k("ignore_missing")).is_some_and(Value::truthy) {
                                        ignore_missing = true;
                                    }
                                }
                                Value::Str(_) if !states.contains(&comp) => {
                                    states.push(comp.clone());
                                }
                                _ => {}
                            }
                        }
                        if ignore_missing {
                            self.ignored
                                .entry(pstr(saltenv))
                                .or_default()
                                .extend(states.iter().map(pstr));
                        }
                        matches.extend(states);
                        top.entry(saltenv.clone())
                            .or_default()
                            .insert(tgt.clone(), Value::List(matches));
                    }
                }
            }
        }
        let mut sorted = Map::default();
        for (env, targets) in top {
            let mut list: Vec<(Value, Value)> = targets.into_iter().collect();
            let ord = orders.get(&env).cloned().unwrap_or_default();
            list.sort_by_key(|(t, _)| ord.get(t).copied().unwrap_or(0));
            sorted.insert(env, Value::Map(list.into_iter().collect()));
        }
        (sorted, errors)
    }

    fn top_matches(&self, top: &Map) -> Vec<(String, Vec<String>)> {
        let empty = Value::map();
        let nodegroups = opt(self.opts, "nodegroups").unwrap_or(&empty);
        let id = opt_str(self.opts, "id", "");
        let ctx = MatchContext {
            id: &id,
            grains: self.grains,
            pillar: &self.context,
            nodegroups,
        };
        let pillarenv = opt(self.opts, "pillarenv").filter(|v| v.truthy()).map(pstr);
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for (saltenv, body) in top {
            let saltenv = pstr(saltenv);
            if pillarenv.as_ref().is_some_and(|p| *p != saltenv) {
                continue;
            }
            let Value::Map(body) = body else { continue };
            for (tgt, data) in body {
                let Value::List(data) = data else { continue };
                if !confirm_top(tgt, data, &ctx) {
                    continue;
                }
                if !out.iter().any(|(e, _)| *e == saltenv) {
                    out.push((saltenv.clone(), Vec::new()));
                }
                let Some((_, env_matches)) = out.iter_mut().find(|(e, _)| *e == saltenv) else {
                    continue;
                };
                for item in data {
                    if let Value::Str(s) = item {
                        if !env_matches.contains(s) {
                            env_matches.push(s.clone());
                        }
                    }
                }
            }
        }
        out
    }

    fn merge(&self, a: &Map, b: &Map) -> Map {
        merge(a, b, &self.strategy, &self.renderer, self.merge_lists)
    }

    /// `render_pstate`: one pillar SLS and its includes.
    fn render_pstate(
        &self,
        sls: &str,
        saltenv: &str,
        mods: &mut IndexMap<String, PState>,
        defaults: &Map,
    ) -> (PState, Vec<String>) {
        let mut errors = Vec::new();
        let Some((text, path)) = self.get_state(sls, saltenv) else {
            if self
                .ignored
                .get(saltenv)
                .is_some_and(|l| l.iter().any(|s| s == sls))
            {
                return (None, errors);
            }
            let has_roots = opt(self.opts, "pillar_roots")
                .and_then(|r| r.get(saltenv))
                .is_some_and(Value::truthy);
            if has_roots {
                errors.push(format!(
                    "Specified SLS '{sls}' in environment '{saltenv}' is not available on the salt master"
                ));
            }
            return (None, errors);
        };
        let state = match self.render(&text, &path, saltenv, sls, defaults.clone()) {
            Ok(v) => Some(v),
            Err(e) => {
                if opt_bool(self.opts, "pillar_safe_render_error", true) {
                    errors.push(format!(
                        "Rendering SLS '{sls}' failed. Please see master log for details."
                    ));
                } else {
                    errors.push(format!("Rendering SLS '{sls}' failed, render error:\n{e}"));
                }
                None
            }
        };
        mods.insert(sls.to_string(), state.clone());
        let Some(state) = state else {
            return (None, errors);
        };
        if !state.truthy() {
            return (Some(state), errors);
        }
        let Value::Map(mut state) = state else {
            errors.push(format!("SLS '{sls}' does not render to a dictionary"));
            return (Some(state), errors);
        };
        let Some(inc) = state.get(&k("include")).cloned() else {
            return (Some(Value::Map(state)), errors);
        };
        let Value::List(inc) = inc else {
            errors.push(format!(
                "Include Declaration in SLS '{sls}' is not formed as a list"
            ));
            return (Some(Value::Map(state)), errors);
        };
        state.shift_remove(&k("include"));
        let override_sls = opt_bool(self.opts, "pillar_includes_override_sls", false);
        let mut include_states: Vec<Map> = Vec::new();
        let mut defaults = defaults.clone();
        let mut err: Vec<String> = Vec::new();
        for sub in inc {
            let (mut sub_sls, key) = match &sub {
                Value::Map(m) => {
                    let Some((name, v)) = m.iter().next() else {
                        continue;
                    };
                    defaults = v
                        .get("defaults")
                        .and_then(Value::as_map)
                        .cloned()
                        .unwrap_or_default();
                    (pstr(name), v.get("key").filter(|x| !x.is_null()).map(pstr))
                }
                other => (pstr(other), None),
            };
            let mut matched: Vec<String>;
            if self.avail.contains_key(saltenv) {
                let avail = self.avail.get(saltenv).map(Vec::as_slice).unwrap_or(&[]);
                matched = filter(avail, &sub_sls.trim_start_matches('.').replace('/', "."));
                if sub_sls.starts_with('.') {
                    let mut parts: Vec<&str> = sls.split('.').collect();
                    if !path.ends_with("/init.sls") {
                        parts.pop();
                    }
                    let rest = sub_sls[1..].to_string();
                    parts.push(&rest);
                    sub_sls = parts.join(".");
                }
                matched.extend(filter(avail, &sub_sls));
            } else {
                errors.push(format!(
                    "No matching pillar environment for environment '{saltenv}' found"
                ));
                matched = vec![sub_sls.clone()];
            }
            if matched.is_empty() {
                matched = vec![sub_sls.clone()];
            }
            for m_sub in matched {
                let nstate = if let Some(cached) = mods.get(&m_sub) {
                    cached.clone()
                } else {
                    let (n, e) = self.render_pstate(&m_sub, saltenv, mods, &defaults);
                    err = e;
                    n
                };
                if let Some(mut nstate) = nstate.filter(Value::truthy) {
                    if let Some(key) = &key {
                        for frag in key.split(':').rev() {
                            nstate = super::util::single(k(frag), nstate);
                        }
                    }
                    if let Value::Map(nm) = nstate {
                        if override_sls {
                            state = self.merge(&state, &nm);
                        } else {
                            include_states.push(nm);
                        }
                    }
                }
                errors.extend(err.iter().cloned());
            }
        }
        if !override_sls {
            include_states.push(state);
            let mut acc: Option<Map> = None;
            for s in include_states {
                acc = Some(match acc {
                    None => s,
                    Some(a) => self.merge(&a, &s),
                });
            }
            state = acc.unwrap_or_default();
        }
        (Some(Value::Map(state)), errors)
    }
}

/// Compile the pillar for a minion from `pillar_roots` (served by
/// `pillar_files`): pillar top, SLS rendering with grains, include, merge.
/// Errors end up under the `_errors` key, as in Salt.
///
/// Templates see `opts['pillar']` as `pillar`: Salt's minion compiles the
/// pillar once at startup with `{}` there, and `pillar.items` recompiles
/// with the startup pillar in `opts['pillar']`.
pub fn compile_pillar(
    opts: &Value,
    grains: &Value,
    functions: &dyn Functions,
    pillar_files: &dyn FileClient,
) -> Value {
    let strategy = match opt(opts, "pillar_source_merging_strategy").filter(|v| v.truthy()) {
        Some(v) => pstr(v),
        None => "smart".into(),
    };
    let mut p = Pillar {
        opts,
        grains,
        functions,
        files: pillar_files,
        avail: IndexMap::new(),
        ignored: IndexMap::new(),
        strategy,
        renderer: opt_str(opts, "renderer", "jinja|yaml"),
        merge_lists: opt_bool(opts, "pillar_merge_lists", false),
        context: match opt(opts, "pillar") {
            Some(v @ Value::Map(_)) => v.clone(),
            _ => Value::map(),
        },
    };
    for env in p.get_envs() {
        let states = list_states(&pillar_files.list_files(&env));
        p.avail.insert(env, states);
    }
    let (top, top_errors) = p.get_top();
    let matches = p.top_matches(&top);
    let mut pillar = Map::default();
    let mut errors: Vec<String> = Vec::new();
    for (saltenv, pstates) in &matches {
        let mut files: Vec<String> = Vec::new();
        let mut mods: IndexMap<String, PState> = IndexMap::new();
        for sls_match in pstates {
            let matched = match p.avail.get(saltenv) {
                Some(avail) => filter(avail, sls_match),
                None => {
                    errors.push(format!(
                        "No matching pillar environment for environment '{saltenv}' found"
                    ));
                    vec![]
                }
            };
            if matched.is_empty() {
                files.push(sls_match.clone());
            } else {
                files.extend(matched);
            }
        }
        for sls in files {
            let (pstate, err) = p.render_pstate(&sls, saltenv, &mut mods, &Map::default());
            errors.extend(err);
            if let Some(Value::Map(m)) = pstate {
                pillar = p.merge(&pillar, &m);
            }
        }
    }
    errors.extend(top_errors);
    if !errors.is_empty() {
        pillar.insert(
            k("_errors"),
            Value::List(errors.into_iter().map(Value::Str).collect()),
        );
    }
    Value::Map(pillar)
}
