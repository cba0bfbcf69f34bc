//! Rendering SLS files into high data: `BaseHighState.render_state` (with
//! `include`, `extend`, `exclude`, short declarations and the automatic
//! `order` counter) and `render_highstate` (several SLS into one map, with
//! the conflicting-ID check).

use super::prerender::{Ahead, Nesting, Rendered, Tracked};
use super::util::{first_key, k, pstr, starts};
use super::{opt, opt_bool, opt_str, Compiler, Errors};
use crate::functions::Functions;
use crate::matcher::fnmatch::{filter, fnmatch};
use crate::render::{render_sls, RenderContext};
use crate::value::{Map, Value};
use indexmap::IndexMap;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The per-call state of a highstate compilation (Salt's `HighState`).
pub struct HighState<'c> {
    pub c: &'c Compiler<'c>,
    /// `opts['saltenv']`: restricts top files and matches to one env.
    pub saltenv: Option<String>,
    /// The automatic order counter (`iorder`), from 10000.
    pub iorder: i128,
    /// A truthy non-dict an SLS rendered to (Salt still tries to merge it).
    nondict: Option<Value>,
    avail: IndexMap<String, Vec<String>>,
    /// Calls of functions that are not read-only made by this thread's
    /// renders (see [`super::prerender`]).
    impure: AtomicU64,
    /// The top-level files being rendered ahead, during `render_highstate`.
    ahead: Option<Arc<Ahead>>,
}

/// One SLS match of the top file and the files it names.
struct Matched {
    saltenv: String,
    sls_match: String,
    statefiles: Vec<String>,
    /// Neither `saltenv` nor `__env__` is available (an error is reported).
    unknown_env: bool,
}

/// What `client.get_state` finds: the text and the `salt://` source path.
pub struct StateFile {
    pub text: String,
    pub source: String,
    /// Where the file lives on disk (the template's `tplpath`).
    pub local_path: String,
}

impl<'c> HighState<'c> {
    pub fn new(c: &'c Compiler<'c>, saltenv: Option<String>) -> Self {
        let mut hs = HighState {
            c,
            saltenv,
            iorder: 10000,
            nondict: None,
            avail: IndexMap::new(),
            impure: AtomicU64::new(0),
            ahead: None,
        };
        for env in hs.get_envs() {
            let states = super::util::list_states(&c.file_client.list_files(&env));
            hs.avail.insert(env, states);
        }
        hs
    }

    /// `_get_envs`: base, then `file_roots` order, filtered by `env_order`.
    pub fn get_envs(&self) -> Vec<String> {
        let opts = self.c.opts;
        let mut envs = vec!["base".to_string()];
        if let Some(Value::Map(fr)) = opt(opts, "file_roots") {
            for key in fr.keys() {
                let key = pstr(key);
                if !envs.contains(&key) {
                    envs.push(key);
                }
            }
        }
        let mut env_order: Vec<String> = Vec::new();
        if let Some(Value::List(l)) = opt(opts, "env_order") {
            for e in l {
                let e = pstr(e);
                if !env_order.contains(&e) {
                    env_order.push(e);
                }
            }
        }
        let mut client_envs = self.c.file_client.envs();
        client_envs.sort();
        if !env_order.is_empty() && !client_envs.is_empty() {
            return env_order
                .into_iter()
                .filter(|e| client_envs.contains(e))
                .collect();
        }
        if !env_order.is_empty() {
            return env_order;
        }
        for e in client_envs {
            if !envs.contains(&e) {
                envs.push(e);
            }
        }
        envs
    }

    pub fn avail_has(&self, env: &str) -> bool {
        self.avail.contains_key(env)
    }

    pub fn avail(&self, env: &str) -> &[String] {
        self.avail.get(env).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// `client.get_state(sls, saltenv)`: `a.b` -> `a/b.sls` or `a/b/init.sls`.
    pub fn get_state(&self, sls: &str, saltenv: &str) -> Option<StateFile> {
        get_state(self.c, sls, saltenv)
    }

    /// `compile_template` for a file of the state tree: empty or blank
    /// files are `{}`, others go through the renderer pipeline.
    pub fn render_text(
        &self,
        text: &str,
        path: &str,
        saltenv: &str,
        sls: &str,
    ) -> Result<Value, String> {
        self.render_text_at(text, path, None, saltenv, sls)
    }

    /// [`Self::render_text`] for a file at `local_path` on disk, which
    /// templates see as `tplpath` (Salt's cached file path).
    pub fn render_text_at(
        &self,
        text: &str,
        path: &str,
        local_path: Option<&str>,
        saltenv: &str,
        sls: &str,
    ) -> Result<Value, String> {
        let functions = Tracked {
            inner: self.c.functions,
            impure: &self.impure,
            ahead: false,
        };
        render_file(self.c, &functions, text, path, local_path, saltenv, sls)
    }

    /// `render_state`: one SLS and, recursively, its includes.
    pub fn render_state(
        &mut self,
        sls: &str,
        saltenv: &str,
        mods: &mut HashSet<String>,
        matches: &[(String, Vec<Value>)],
    ) -> (Map, Errors) {
        let mut errors = Vec::new();
        let Some(file) = self.get_state(sls, saltenv) else {
            errors.push(format!(
                "Specified SLS {sls} in saltenv {saltenv} is not available on the salt master or through a configured fileserver"
            ));
            return (Map::default(), errors);
        };
        let path = file.source.trim_start_matches("salt://").to_string();
        let impure = self.impure.load(Ordering::SeqCst) > 0;
        let ahead = self
            .ahead
            .as_ref()
            .and_then(|a| a.take(saltenv, sls, impure));
        let (result, shared_top) = match ahead {
            Some(r) => (r.result, r.shared_top),
            None => {
                let _ = crate::yaml::take_shared_top();
                let r =
                    self.render_text_at(&file.text, &path, Some(&file.local_path), saltenv, sls);
                (r, crate::yaml::take_shared_top())
            }
        };
        let rendered = match result {
            Ok(v) => Some(v),
            Err(msg) => {
                errors.push(format!("Rendering SLS '{saltenv}:{sls}' failed: {msg}"));
                None
            }
        };
        mods.insert(format!("{saltenv}:{sls}"));
        let Some(rendered) = rendered.filter(Value::truthy) else {
            return (Map::default(), errors);
        };
        let Value::Map(mut state) = rendered else {
            errors.push(format!("SLS {sls} does not render to a dictionary"));
            self.nondict = Some(rendered);
            return (Map::default(), errors);
        };
        // IDs whose bodies are one YAML node (an alias): Salt mutates that
        // one dict, so the alias ends up with the original's processed body.
        let shared: Vec<(Value, Value)> = shared_top
            .into_iter()
            .map(|(alias, orig)| (k(&alias), k(&orig)))
            .filter(|(alias, orig)| {
                state.get(alias).is_some() && state.get(alias) == state.get(orig)
            })
            .collect();
        let mut include = Vec::new();
        if let Some(inc) = state.get(&k("include")) {
            match inc {
                Value::List(_) => {
                    if let Some(Value::List(l)) = state.shift_remove(&k("include")) {
                        include = l;
                    }
                }
                _ => errors.push(format!(
                    "Include Declaration in SLS {sls} is not formed as a list"
                )),
            }
        }
        handle_extend(&mut state, sls, saltenv, &mut errors);
        handle_exclude(&mut state, sls, &mut errors);
        handle_state_decls(&mut state, sls, saltenv, &mut errors);

        for inc in include {
            let (env_key, inc_sls) = match inc {
                Value::Map(mut m) => match m.pop() {
                    Some((ek, v)) => (pstr(&ek), pstr(&v)),
                    None => continue,
                },
                other => (saltenv.to_string(), pstr(&other)),
            };
            if !self.avail_has(&env_key) && !self.avail_has("__env__") {
                errors.push(format!(
                    "Nonexistent saltenv '{env_key}' found in include of '{inc_sls}' within SLS '{saltenv}:{sls}'"
                ));
                continue;
            }
            let mut inc_sls = inc_sls;
            if inc_sls.starts_with('.') {
                let levels = inc_sls.chars().take_while(|c| *c == '.').count();
                let rest = &inc_sls[levels..];
                let mut p_comps: Vec<&str> = sls.split('.').collect();
                if file.source.ends_with("/init.sls") {
                    p_comps.push("init");
                }
                if levels > p_comps.len() {
                    errors.push(format!(
                        "Attempted relative include of '{inc_sls}' within SLS '{saltenv}:{sls}' goes beyond top level package "
                    ));
                    continue;
                }
                let mut parts: Vec<&str> = p_comps[..p_comps.len() - levels].to_vec();
                parts.push(rest);
                inc_sls = parts.join(".");
            }
            let resolved_envs: Vec<String> = if env_key != "_xenv" {
                if matches.iter().any(|(e, _)| *e == env_key)
                    || !filter(self.avail(&env_key), &inc_sls).is_empty()
                {
                    vec![env_key.clone()]
                } else {
                    vec![]
                }
            } else {
                matches
                    .iter()
                    .map(|(e, _)| e.clone())
                    .filter(|e| !filter(self.avail(e), &inc_sls).is_empty())
                    .collect()
            };
            if resolved_envs.len() == 1 || resolved_envs.iter().any(|e| e == saltenv) {
                let mut targets = filter(self.avail(saltenv), &inc_sls);
                if targets.is_empty() {
                    targets.push(inc_sls.clone());
                }
                for target in targets {
                    let r_env = if resolved_envs.len() == 1 {
                        resolved_envs[0].clone()
                    } else {
                        saltenv.to_string()
                    };
                    if mods.contains(&format!("{r_env}:{target}")) {
                        continue;
                    }
                    let (mut nstate, err) = self.render_state(&target, &r_env, mods, matches);
                    self.nondict = None;
                    if !nstate.is_empty() {
                        for (item, body) in nstate.iter_mut() {
                            if starts(item, "__") {
                                continue;
                            }
                            if let Value::Map(b) = body {
                                let from = b
                                    .entry(k("__sls_included_from__"))
                                    .or_insert_with(|| Value::List(vec![]));
                                if let Value::List(l) = from {
                                    l.push(Value::str(sls));
                                }
                            }
                        }
                        merge_included_states(&mut state, &mut nstate, &mut errors);
                        for (key, val) in nstate {
                            state.insert(key, val);
                        }
                    }
                    errors.extend(err);
                }
            } else if resolved_envs.is_empty() {
                let envs = if env_key == "_xenv" {
                    matches
                        .iter()
                        .map(|(e, _)| e.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                } else {
                    env_key.clone()
                };
                errors.push(format!(
                    "Unknown include: Specified SLS {env_key}: {inc_sls} is not available on the salt master in saltenv(s): {envs} "
                ));
            } else {
                errors.push(format!(
                    "Ambiguous include: Specified SLS {env_key}: {inc_sls} is available on the salt master in multiple available saltenvs: {}",
                    resolved_envs.join(", ")
                ));
            }
        }
        self.handle_iorder(&mut state, &shared);
        (state, errors)
    }

    /// `_handle_iorder`: give every state declaration without an `order`
    /// the next automatic order number.
    /// An ID in `shared` (alias, original) takes the original's body, as
    /// Python's shared dict already has its `order` on the second visit.
    fn handle_iorder(&mut self, state: &mut Map, shared: &[(Value, Value)]) {
        if !opt_bool(self.c.opts, "state_auto_order", true) {
            return;
        }
        for (id, body) in state.iter_mut() {
            if shared.iter().any(|(alias, _)| alias == id) {
                continue;
            }
            let Value::Map(body) = body else { continue };
            for (s_dec, args) in body.iter_mut() {
                let Value::Str(s_dec) = s_dec else { continue };
                if s_dec.starts_with('_') {
                    continue;
                }
                let Value::List(args) = args else { continue };
                let found = args.iter().any(|a| {
                    a.as_map().and_then(first_key).and_then(Value::as_str) == Some("order")
                });
                if !found {
                    args.push(super::util::single(k("order"), Value::Int(self.iorder)));
                    self.iorder += 1;
                }
            }
        }
        for (alias, orig) in shared {
            if let (true, Some(body)) = (state.contains_key(alias), state.get(orig).cloned()) {
                state.insert(alias.clone(), body);
            }
        }
    }

    /// `render_highstate`: every matched SLS of every env into one map.
    ///
    /// With two or more files and a second core, a helper thread renders
    /// the files ahead of their turn (see [`super::prerender`]).
    pub fn render_highstate(&mut self, matches: &[(String, Vec<Value>)]) -> (Map, Errors) {
        let nesting = Nesting::enter();
        let matched = self.matched_files(matches);
        let plan: Vec<(String, String)> = matched
            .iter()
            .flat_map(|m| m.statefiles.iter().map(|f| (m.saltenv.clone(), f.clone())))
            .collect();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if plan.len() < 2 || cores < 2 || !nesting.outermost() || self.ahead.is_some() {
            return self.render_highstate_in_order(matches, &matched);
        }
        let ahead = Arc::new(Ahead::new(plan));
        self.ahead = Some(ahead.clone());
        let c = self.c;
        let out = std::thread::scope(|scope| {
            let worker = ahead.clone();
            scope.spawn(move || worker.work(|saltenv, sls| render_ahead(c, saltenv, sls)));
            let out = self.render_highstate_in_order(matches, &matched);
            ahead.stop();
            out
        });
        self.ahead = None;
        out
    }

    /// The top file's matches with the SLS files each names, in order
    /// (Salt's `statefiles`: an entry whose saltenv is unknown keeps the
    /// previous entry's list).
    fn matched_files(&self, matches: &[(String, Vec<Value>)]) -> Vec<Matched> {
        let mut out = Vec::new();
        let mut statefiles: Vec<String> = Vec::new();
        for (saltenv, states) in matches {
            for sls_match in states {
                let sls_match = pstr(sls_match);
                let mut unknown_env = false;
                if self.avail_has(saltenv) {
                    statefiles = filter(self.avail(saltenv), &sls_match);
                } else if self.avail_has("__env__") {
                    statefiles = filter(self.avail("__env__"), &sls_match);
                } else {
                    unknown_env = true;
                }
                if statefiles.is_empty() {
                    statefiles = vec![sls_match.clone()];
                }
                out.push(Matched {
                    saltenv: saltenv.clone(),
                    sls_match,
                    statefiles: statefiles.clone(),
                    unknown_env,
                });
            }
        }
        out
    }

    /// `render_highstate` proper: the files one after the other.
    fn render_highstate_in_order(
        &mut self,
        matches: &[(String, Vec<Value>)],
        matched: &[Matched],
    ) -> (Map, Errors) {
        let mut highstate = Map::default();
        let mut all_errors = Vec::new();
        let mut mods: HashSet<String> = HashSet::new();
        for m in matched {
            let (saltenv, sls_match) = (&m.saltenv, &m.sls_match);
            if m.unknown_env {
                all_errors.push(format!(
                    "No matching salt environment for environment '{saltenv}' found"
                ));
            }
            for sls in m.statefiles.clone() {
                if mods.contains(&format!("{saltenv}:{sls}")) {
                    continue;
                }
                self.nondict = None;
                let (mut state, mut errors) = self.render_state(&sls, saltenv, &mut mods, matches);
                if let Some(bad) = self.nondict.take() {
                    errors.push(format!(
                        "Error when rendering state with contents: {}",
                        super::util::prepr(&bad)
                    ));
                }
                if !state.is_empty() {
                    merge_included_states(&mut highstate, &mut state, &mut errors);
                    for (key, val) in state {
                        highstate.insert(key, val);
                    }
                }
                let this_sls = format!("SLS {sls_match} in saltenv");
                for e in errors.iter_mut() {
                    if e.contains("is not available") && e.contains(&this_sls) {
                        *e = format!("No matching sls found for '{sls_match}' in env '{saltenv}'");
                    }
                }
                all_errors.extend(errors);
            }
        }
        clean_duplicate_extends(&mut highstate);
        (highstate, all_errors)
    }
}

/// `client.get_state(sls, saltenv)`: `a.b` -> `a/b.sls` or `a/b/init.sls`.
fn get_state(c: &Compiler, sls: &str, saltenv: &str) -> Option<StateFile> {
    let base = sls.replace('.', "/");
    for path in [format!("{base}.sls"), format!("{base}/init.sls")] {
        if let Ok(Some(fd)) = c.file_client.get(&path, saltenv) {
            let text = String::from_utf8_lossy(&fd.bytes).into_owned();
            return Some(StateFile {
                text,
                source: format!("salt://{path}"),
                local_path: fd.local_path.to_string_lossy().into_owned(),
            });
        }
    }
    None
}

/// `compile_template` for a file of the state tree, calling `functions`.
fn render_file(
    c: &Compiler,
    functions: &dyn Functions,
    text: &str,
    path: &str,
    local_path: Option<&str>,
    saltenv: &str,
    sls: &str,
) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::map());
    }
    let default = opt_str(c.opts, "renderer", "jinja|yaml");
    let mut ctx = RenderContext {
        opts: c.opts,
        grains: c.grains,
        pillar: c.pillar,
        saltenv,
        sls,
        functions,
        file_client: c.file_client,
        extra: Map::default(),
    };
    if let Some(lp) = local_path.filter(|lp| lp.starts_with('/')) {
        ctx.extra.insert("tplpath".into(), lp.into());
    }
    render_sls(text, path, &default, &ctx).map_err(|e| e.message)
}

/// One top-level SLS rendered ahead of its turn, with read-only functions
/// only; `None` when it must be rendered in order (missing, failed, or it
/// called another function).
fn render_ahead(c: &Compiler, saltenv: &str, sls: &str) -> Option<Rendered> {
    let file = get_state(c, sls, saltenv)?;
    let impure = AtomicU64::new(0);
    let functions = Tracked {
        inner: c.functions,
        impure: &impure,
        ahead: true,
    };
    let path = file.source.trim_start_matches("salt://");
    let _ = crate::yaml::take_shared_top();
    let result = render_file(
        c,
        &functions,
        &file.text,
        path,
        Some(&file.local_path),
        saltenv,
        sls,
    );
    let shared_top = crate::yaml::take_shared_top();
    if impure.load(Ordering::SeqCst) > 0 || result.is_err() {
        return None;
    }
    Some(Rendered { result, shared_top })
}

/// `_handle_extend`: move `extend:` into `__extend__`, padding bodies with
/// `__sls__`/`__env__` and splitting dotted `mod.fun` keys.
fn handle_extend(state: &mut Map, sls: &str, saltenv: &str, errors: &mut Errors) {
    let Some(ext) = state.shift_remove(&k("extend")) else {
        return;
    };
    let Value::Map(mut ext) = ext else {
        errors.push(format!(
            "Extension value in SLS '{sls}' is not a dictionary"
        ));
        return;
    };
    for (name, body) in ext.iter_mut() {
        let Value::Map(body) = body else {
            errors.push(format!(
                "Extension name '{}' in SLS '{sls}' is not a dictionary",
                pstr(name)
            ));
            continue;
        };
        body.entry(k("__sls__")).or_insert_with(|| Value::str(sls));
        body.entry(k("__env__"))
            .or_insert_with(|| Value::str(saltenv));
        split_dotted_keys(body, None);
    }
    let list = state
        .entry(k("__extend__"))
        .or_insert_with(|| Value::List(vec![]));
    if let Value::List(l) = list {
        l.push(Value::Map(ext));
    }
}

/// Turn `pkg.installed: [args]` into `pkg: [args..., installed]` (the key
/// moves to the end, as Python's pop-and-set does). With `skeys`, report
/// two declarations of one module.
fn split_dotted_keys(body: &mut Map, mut dup: Option<(&str, &str, &mut Errors)>) {
    let mut skeys: HashSet<String> = HashSet::new();
    let keys: Vec<Value> = body.keys().cloned().collect();
    for key in keys {
        let Value::Str(ks) = &key else { continue };
        if ks.starts_with('_') {
            continue;
        }
        if !matches!(body.get(&key), Some(Value::List(_))) {
            continue;
        }
        if ks.contains('.') {
            let comps: Vec<&str> = ks.split('.').collect();
            if dup.is_some() && skeys.contains(comps[0]) {
                if let Some((name, sls, errors)) = dup.as_mut() {
                    errors.push(format!(
                        "ID '{name}' in SLS '{sls}' contains multiple state declarations of the same type"
                    ));
                }
                continue;
            }
            let Some(Value::List(mut args)) = body.shift_remove(&key) else {
                continue;
            };
            args.push(Value::str(comps[1]));
            body.insert(k(comps[0]), Value::List(args));
            skeys.insert(comps[0].to_string());
            continue;
        }
        skeys.insert(ks.clone());
    }
}

/// `_handle_exclude`: move `exclude:` into `__exclude__`.
fn handle_exclude(state: &mut Map, sls: &str, errors: &mut Errors) {
    let Some(exc) = state.shift_remove(&k("exclude")) else {
        return;
    };
    let items = match exc {
        Value::List(l) => l,
        other => {
            errors.push(format!(
                "Exclude Declaration in SLS {sls} is not formed as a list"
            ));
            match other {
                Value::Str(s) => s.chars().map(|c| Value::Str(c.to_string())).collect(),
                Value::Map(m) => m.into_keys().collect(),
                _ => vec![],
            }
        }
    };
    let list = state
        .entry(k("__exclude__"))
        .or_insert_with(|| Value::List(vec![]));
    if let Value::List(l) = list {
        l.extend(items);
    }
}

/// `_handle_state_decls`: pad short declarations, split dotted keys, add
/// `__sls__` and `__env__`.
fn handle_state_decls(state: &mut Map, sls: &str, saltenv: &str, errors: &mut Errors) {
    for (name, body) in state.iter_mut() {
        if !matches!(body, Value::Map(_)) {
            if name.as_str() == Some("__extend__") || name.as_str() == Some("__exclude__") {
                continue;
            }
            if let Value::Str(s) = body {
                if s.contains('.') {
                    let comps: Vec<&str> = s.split('.').collect();
                    let mut m = Map::default();
                    m.insert(k("__sls__"), Value::str(sls));
                    m.insert(k("__env__"), Value::str(saltenv));
                    m.insert(k(comps[0]), Value::List(vec![Value::str(comps[1])]));
                    *body = Value::Map(m);
                    continue;
                }
            }
            errors.push(format!(
                "ID {} in SLS {sls} is not a dictionary",
                pstr(name)
            ));
            continue;
        }
        let Value::Map(b) = body else { continue };
        let name_s = pstr(name);
        split_dotted_keys(b, Some((&name_s, sls, errors)));
        b.entry(k("__sls__")).or_insert_with(|| Value::str(sls));
        b.entry(k("__env__")).or_insert_with(|| Value::str(saltenv));
    }
}

/// `merge_included_states`: move `__extend__`/`__exclude__` across and
/// report IDs defined differently in two SLS.
pub fn merge_included_states(highstate: &mut Map, state: &mut Map, errors: &mut Errors) {
    for key in ["__extend__", "__exclude__"] {
        if let Some(Value::List(items)) = state.shift_remove(&k(key)) {
            if let Value::List(l) = highstate
                .entry(k(key))
                .or_insert_with(|| Value::List(vec![]))
            {
                l.extend(items);
            }
        }
    }
    for (id, body) in state.iter() {
        if let Some(existing) = highstate.get(id) {
            if existing != body {
                let g = |v: &Value, key: &str| v.get(key).map(pstr).unwrap_or_default();
                errors.push(format!(
                    "Detected conflicting IDs, SLS IDs need to be globally unique.\n    The conflicting ID is '{}' and is found in SLS '{}:{}' and SLS '{}:{}'",
                    pstr(id),
                    g(existing, "__env__"),
                    g(existing, "__sls__"),
                    g(body, "__env__"),
                    g(body, "__sls__"),
                ));
            }
        }
    }
}

/// `clean_duplicate_extends`: flatten `__extend__` into one-key maps,
/// dropping exact duplicates.
fn clean_duplicate_extends(highstate: &mut Map) {
    let Some(Value::List(exts)) = highstate.get(&k("__extend__")) else {
        return;
    };
    let mut seen: Vec<(Value, Value)> = Vec::new();
    for ext in exts {
        if let Value::Map(m) = ext {
            for (key, val) in m {
                let item = (key.clone(), val.clone());
                if !seen.contains(&item) {
                    seen.push(item);
                }
            }
        }
    }
    let flat = seen
        .into_iter()
        .map(|(key, val)| super::util::single(key, val))
        .collect();
    highstate.insert(k("__extend__"), Value::List(flat));
}

/// `fnmatch` re-export for the other compiler files.
pub fn glob(name: &str, pat: &str) -> bool {
    fnmatch(name, pat)
}
