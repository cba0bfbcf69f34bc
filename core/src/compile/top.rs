//! Top files: gather them from every environment (`get_tops`), merge them
//! with `top_file_merging_strategy` (`merge`, `same`, `merge_all`),
//! verify their shape (`verify_tops`) and match this minion
//! (`top_matches` with `confirm_top`).

use super::sls::HighState;
use super::util::{k, pstr};
use super::{opt, opt_str, Errors};
use crate::matcher::fnmatch::filter;
use crate::matcher::{matches as target_matches, MatchContext};
use crate::value::{Map, Value};
use indexmap::IndexMap;

/// `{saltenv: [sls, ...]}` in match order (sls entries kept as values).
pub type Matches = Vec<(String, Vec<Value>)>;

const NO_TARGETS: &str = "Unable to render top file. No targets found.";

impl HighState<'_> {
    /// Render one top file; Salt's `get_top` turns a render failure into
    /// an empty top (it only logs the error).
    fn render_top(&self, text: &str, path: &str, saltenv: &str) -> Result<Value, String> {
        self.render_text(text, path, saltenv, "")
    }

    /// `get_tops`: `{saltenv: [rendered top, ...]}`, includes resolved.
    pub fn get_tops(&self) -> Result<IndexMap<String, Vec<Value>>, String> {
        let opts = self.c.opts;
        let mut tops: IndexMap<String, Vec<Value>> = IndexMap::new();
        let state_top = opt_str(opts, "state_top", "salt://top.sls");
        let top_path = state_top
            .trim_start_matches("salt://")
            .trim_start_matches('/')
            .to_string();
        let strategy = opt_str(opts, "top_file_merging_strategy", "merge");
        if strategy == "same"
            && self.saltenv.is_none()
            && opt_str(opts, "default_top", "base").is_empty()
        {
            return Err(
                "top_file_merging_strategy set to 'same', but no default_top configuration option was set"
                    .into(),
            );
        }
        let fetch = |env: &str| -> Result<Option<Value>, String> {
            match self.c.file_client.get(&top_path, env) {
                Ok(Some(fd)) => {
                    let text = String::from_utf8_lossy(&fd.bytes).into_owned();
                    self.render_top(&text, &top_path, env).map(Some)
                }
                _ => Ok(None),
            }
        };
        if let Some(env) = &self.saltenv {
            let top = fetch(env)?.unwrap_or_else(Value::map);
            tops.insert(env.clone(), vec![top]);
        } else {
            let envs = match opt(opts, "state_top_saltenv").filter(|v| v.truthy()) {
                Some(v) => vec![pstr(v)],
                None => self.get_envs(),
            };
            for env in envs {
                let top = fetch(&env)?.unwrap_or_else(Value::map);
                tops.entry(env).or_default().push(top);
            }
        }
        // Includes inside top files.
        let mut include: IndexMap<String, Vec<String>> = IndexMap::new();
        for (env, ctops) in tops.iter_mut() {
            for ctop in ctops.iter_mut() {
                if let Value::Map(m) = ctop {
                    if let Some(inc) = m.shift_remove(&k("include")) {
                        let list = match inc {
                            Value::List(l) => l.iter().map(pstr).collect(),
                            other => vec![pstr(&other)],
                        };
                        include.entry(env.clone()).or_default().extend(list);
                    }
                }
            }
        }
        let mut done: IndexMap<String, Vec<String>> = IndexMap::new();
        while !include.is_empty() {
            let current = std::mem::take(&mut include);
            for (env, states) in current {
                for sls_match in states {
                    for sls in filter(self.avail(&env), &sls_match) {
                        if done.get(&env).is_some_and(|d| d.contains(&sls)) {
                            continue;
                        }
                        let top = match self.get_state(&sls, &env) {
                            Some(f) => {
                                let path = f.source.trim_start_matches("salt://").to_string();
                                self.render_top(&f.text, &path, &env)?
                            }
                            None => Value::map(),
                        };
                        tops.entry(env.clone()).or_default().push(top);
                        done.entry(env.clone()).or_default().push(sls);
                    }
                }
            }
        }
        Ok(tops)
    }

    /// `get_top`: gathered and merged. A render failure gives an empty top,
    /// as in Salt; a malformed top is an error.
    pub fn get_top(&self) -> Result<Map, Errors> {
        let tops = match self.get_tops() {
            Ok(t) => t,
            Err(_) => return Ok(Map::default()),
        };
        let strategy = opt_str(self.c.opts, "top_file_merging_strategy", "merge");
        let merged = match strategy.as_str() {
            "same" => merge_same(tops, &opt_str(self.c.opts, "default_top", "base")),
            "merge_all" => merge_all(tops),
            _ => merge_merge(tops),
        };
        merged.map_err(|e| vec![e])
    }

    /// `top_matches`: the SLS this minion gets, per saltenv.
    pub fn top_matches(&self, top: Map) -> Result<Matches, Errors> {
        let mut out: Matches = Vec::new();
        let empty = Value::map();
        let nodegroups = opt(self.c.opts, "nodegroups").unwrap_or(&empty);
        let id = opt_str(self.c.opts, "id", "");
        let ctx = MatchContext {
            id: &id,
            grains: self.c.grains,
            pillar: self.c.pillar,
            nodegroups,
        };
        for (saltenv, body) in top {
            let saltenv = pstr(&saltenv);
            if let Some(only) = &self.saltenv {
                if *only != saltenv {
                    continue;
                }
            }
            let Value::Map(body) = body else { continue };
            for (tgt, data) in body {
                self.filter_matches(&tgt, data, &saltenv, &ctx, &mut out);
            }
        }
        Ok(out)
    }

    fn filter_matches(
        &self,
        tgt: &Value,
        data: Value,
        saltenv: &str,
        ctx: &MatchContext,
        out: &mut Matches,
    ) {
        let data = match data {
            Value::Str(s) => vec![Value::Str(s)],
            Value::List(l) => l,
            _ => return,
        };
        if !confirm_top(tgt, &data, ctx) {
            return;
        }
        push_env(out, saltenv);
        for item in data {
            match item {
                Value::Str(_) => push_sls(out, saltenv, item),
                Value::Map(mut m) => {
                    if let Some(Value::Map(sub)) = m.shift_remove(&k("subfilter")) {
                        for (t, d) in sub {
                            self.filter_matches(&t, d, saltenv, ctx, out);
                        }
                    }
                    if let Some((env_key, inc)) = m.pop() {
                        let env_key = pstr(&env_key);
                        if !self.avail_has(&env_key) {
                            continue;
                        }
                        push_env(out, &env_key);
                        push_sls(out, &env_key, inc);
                    }
                }
                _ => {}
            }
        }
    }
}

fn push_env(out: &mut Matches, env: &str) {
    if !out.iter().any(|(e, _)| e == env) {
        out.push((env.to_string(), Vec::new()));
    }
}

fn push_sls(out: &mut Matches, env: &str, sls: Value) {
    if let Some((_, list)) = out.iter_mut().find(|(e, _)| e == env) {
        list.push(sls);
    }
}

/// `confirm_top`: the target with the `- match:` type of its data
/// (compound by default). Matcher errors mean "no match", as Salt logs them.
pub fn confirm_top(tgt: &Value, data: &[Value], ctx: &MatchContext) -> bool {
    let mut matcher = "compound".to_string();
    for item in data {
        if let Some(m) = item.get("match") {
            matcher = pstr(m);
        }
    }
    target_matches(tgt, &matcher, ctx).unwrap_or(false)
}

/// Copy `targets` of one env section into `top[env]`.
fn copy_targets(top: &mut Map, env: &Value, targets: &Value) -> Result<(), String> {
    let Value::Map(targets) = targets else {
        return Err(NO_TARGETS.into());
    };
    let dest = top.entry(env.clone()).or_insert_with(Value::map);
    if let Value::Map(dest) = dest {
        for (tgt, data) in targets {
            dest.insert(tgt.clone(), data.clone());
        }
    }
    Ok(())
}

/// `_merge_tops_merge`: base is authoritative; other envs' top files only
/// contribute their own section, and only when base did not define it.
pub fn merge_merge(mut tops: IndexMap<String, Vec<Value>>) -> Result<Map, String> {
    let mut top = Map::default();
    let base = tops.shift_remove("base").unwrap_or_default();
    for ctop in &base {
        let Value::Map(ctop) = ctop else { continue };
        for (env, targets) in ctop {
            if env.as_str() == Some("include") {
                continue;
            }
            copy_targets(&mut top, env, targets)?;
        }
    }
    for (cenv, ctops) in &tops {
        for ctop in ctops {
            let Value::Map(ctop) = ctop else { continue };
            for (env, targets) in ctop {
                if env.as_str() == Some("include") || env.as_str() != Some(cenv.as_str()) {
                    continue;
                }
                if top.contains_key(env) {
                    continue;
                }
                copy_targets(&mut top, env, targets)?;
            }
        }
    }
    Ok(top)
}

/// `_merge_tops_same`: each env only from its own top file, falling back
/// to the `default_top` env's top file for envs without one.
pub fn merge_same(tops: IndexMap<String, Vec<Value>>, default_top: &str) -> Result<Map, String> {
    let mut top = Map::default();
    let is_empty = |v: &Value| matches!(v, Value::Map(m) if m.is_empty());
    for (cenv, ctops) in &tops {
        if ctops.iter().all(is_empty) {
            let fallback = tops.get(default_top).cloned().unwrap_or_default();
            if fallback.iter().all(is_empty) {
                continue;
            }
            for ctop in &fallback {
                let Value::Map(ctop) = ctop else { continue };
                if let Some((env, targets)) =
                    ctop.iter().find(|(e, _)| e.as_str() == Some(cenv.as_str()))
                {
                    copy_targets(&mut top, env, targets)?;
                }
            }
            continue;
        }
        for ctop in ctops {
            let Value::Map(ctop) = ctop else { continue };
            for (env, targets) in ctop {
                if env.as_str() == Some("include") || env.as_str() != Some(cenv.as_str()) {
                    continue;
                }
                copy_targets(&mut top, env, targets)?;
            }
        }
    }
    Ok(top)
}

/// `_merge_tops_merge_all`: every section of every top file; a target seen
/// twice gets the union of its SLS (the later match type wins).
pub fn merge_all(tops: IndexMap<String, Vec<Value>>) -> Result<Map, String> {
    fn read_tgt(v: &Value) -> (Option<Value>, Vec<Value>) {
        let mut mt = None;
        let mut states = Vec::new();
        if let Value::List(l) = v {
            for item in l {
                match item {
                    Value::Map(_) => mt = Some(item.clone()),
                    Value::Str(_) => states.push(item.clone()),
                    _ => {}
                }
            }
        }
        (mt, states)
    }
    let mut top = Map::default();
    for ctops in tops.values() {
        for ctop in ctops {
            let Value::Map(ctop) = ctop else { continue };
            for (env, targets) in ctop {
                if env.as_str() == Some("include") {
                    continue;
                }
                let Value::Map(targets) = targets else {
                    return Err(NO_TARGETS.into());
                };
                let dest = top.entry(env.clone()).or_insert_with(Value::map);
                let Value::Map(dest) = dest else { continue };
                for (tgt, data) in targets {
                    let Some(existing) = dest.get(tgt) else {
                        dest.insert(tgt.clone(), data.clone());
                        continue;
                    };
                    let (t1, s1) = read_tgt(existing);
                    let (t2, s2) = read_tgt(data);
                    let mut merged = Vec::new();
                    if let Some(t) = t2.or(t1) {
                        merged.push(t);
                    }
                    merged.extend(s1);
                    for s in s2 {
                        if !merged.contains(&s) {
                            merged.push(s);
                        }
                    }
                    dest.insert(tgt.clone(), Value::List(merged));
                }
            }
        }
    }
    Ok(top)
}

/// `verify_tops`: shape errors in the merged top data.
pub fn verify_tops(tops: &Map) -> Errors {
    let mut errors = Vec::new();
    for (saltenv, matches) in tops {
        if saltenv.as_str() == Some("include") {
            continue;
        }
        if !matches!(saltenv, Value::Str(_)) {
            errors.push(format!(
                "Environment {} in top file is not formed as a string",
                pstr(saltenv)
            ));
        }
        if saltenv.as_str() == Some("") {
            errors.push("Empty saltenv statement in top file".into());
        }
        let Value::Map(matches) = matches else {
            errors.push(format!(
                "The top file matches for saltenv {} are not formatted as a dict",
                pstr(saltenv)
            ));
            continue;
        };
        for slsmods in matches.values() {
            let Value::List(slsmods) = slsmods else {
                errors.push("Malformed topfile (state declarations not formed as a list)".into());
                continue;
            };
            for slsmod in slsmods {
                match slsmod {
                    Value::Map(m) => {
                        for val in m.values() {
                            if !val.truthy() {
                                errors.push(format!(
                                    "Improperly formatted top file matcher in saltenv {}: {} file",
                                    super::util::pstr(slsmod),
                                    pstr(val)
                                ));
                            }
                        }
                    }
                    Value::Str(s) if s.is_empty() => {
                        errors.push(format!(
                            "Environment {} contains an empty sls index",
                            pstr(saltenv)
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    errors
}
