//! The reactor: an event's tag is matched against the master's `reactor:`
//! option (a list of `{tag glob: [sls paths]}`), each matching reactor SLS
//! is rendered (jinja|yaml by default, with `tag` and `data` in the
//! template context) and its `local.*` entries become [`LocalCall`]s for
//! the daemon to publish. Mirrors salt/utils/reactor.py (`list_reactors`,
//! `render_reaction`, `reactions`, `ReactWrap.run` / `ReactWrap.local`).
//!
//! Both reaction syntaxes are read: Salt 3007's
//! `id: {local.state.apply: [{tgt: web*}, {tgt_type: glob}, {args: [{mods: x}]}]}`
//! and the older `arg`/`kwarg` form, with `cmd.` as an alias of `local.`.
//! `runner.`, `wheel.` and `caller.` reactions run code on the master or
//! elsewhere and are not supported: each gives an `Err` naming the entry.

use crate::pillar::MasterFunctions;
use brine_core::fileclient::{FileClient, LocalFileClient};
use brine_core::matcher::fnmatch::fnmatch;
use brine_core::output::pyrepr::str_of;
use brine_core::render::{render_sls, RenderContext};
use brine_core::value::{Map, Value};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

/// One `LocalClient.cmd_async` call a reaction asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalCall {
    pub tgt: Value,
    pub tgt_type: String,
    pub fun: String,
    pub arg: Vec<Value>,
    pub kwarg: Map,
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

/// Salt's reaction aliases (`cmd` is the old name of `local`).
fn alias(state: &str) -> &str {
    match state {
        "cmd" => "local",
        other => other,
    }
}

/// `Reactor.list_reactors`: the SLS paths whose tag glob matches `tag`.
pub fn list_reactors(opts: &Map, tag: &str) -> Result<Vec<String>, String> {
    let map = match opts.get(&s("reactor")) {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Str(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("Failed to read reactor map: \"{path}\": {e}"))?;
            brine_core::yaml::load(&text)
                .map_err(|e| format!("Failed to parse YAML in reactor map: \"{path}\": {e}"))?
        }
        Some(v) => v.clone(),
    };
    let mut out = Vec::new();
    for ropt in map.as_list().into_iter().flatten() {
        let Value::Map(m) = ropt else { continue };
        if m.len() != 1 {
            continue;
        }
        let Some((key, val)) = m.iter().next() else {
            continue;
        };
        if fnmatch(tag, &str_of(key)) {
            match val {
                Value::Str(p) => out.push(p.clone()),
                Value::List(l) => out.extend(l.iter().map(str_of)),
                _ => {}
            }
        }
    }
    Ok(out)
}

fn roots_client(opts: &Map) -> LocalFileClient {
    let mut roots: IndexMap<String, Vec<PathBuf>> = IndexMap::new();
    if let Some(Value::Map(m)) = opts.get(&s("file_roots")) {
        for (env, dirs) in m {
            let dirs = dirs
                .as_list()
                .map(|l| l.iter().map(|d| PathBuf::from(str_of(d))).collect())
                .unwrap_or_default();
            roots.insert(str_of(env), dirs);
        }
    }
    LocalFileClient::new(roots)
}

/// The files a reactor reference names: a `salt://` path in the base
/// saltenv, or a local path (shell glob in its last component allowed).
fn resolve(reference: &str, client: &LocalFileClient) -> Result<Vec<PathBuf>, String> {
    if let Some(rel) = reference.strip_prefix("salt://") {
        let (rel, env) = match rel.split_once("?saltenv=") {
            Some((r, e)) => (r, e),
            None => (rel, "base"),
        };
        return match client.get(rel, env) {
            Ok(Some(f)) => Ok(vec![f.local_path]),
            Ok(None) => Err(String::new()),
            Err(e) => Err(format!("{reference}: {e}")),
        };
    }
    let path = Path::new(reference);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?', '[']) {
        return if path.is_file() {
            Ok(vec![path.to_path_buf()])
        } else {
            Err(String::new())
        };
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|_| String::new())?
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            !n.starts_with('.') && fnmatch(&n, &name)
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// Render one reactor file to its high data.
fn render_reaction(
    file: &Path,
    opts: &Map,
    tag: &str,
    data: &Value,
    client: &LocalFileClient,
) -> Result<Map, String> {
    let name = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| format!("{name}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
    let opts_v = Value::Map(opts.clone());
    let empty = Value::map();
    let funcs = MasterFunctions {
        grains: empty.clone(),
    };
    let mut extra = Map::default();
    extra.insert(s("tag"), s(tag));
    extra.insert(s("data"), data.clone());
    let ctx = RenderContext {
        opts: &opts_v,
        grains: &empty,
        pillar: &empty,
        saltenv: "base",
        sls: "",
        functions: &funcs,
        file_client: client,
        extra,
    };
    let renderer = opts
        .get(&s("renderer"))
        .map(str_of)
        .unwrap_or("jinja|yaml".into());
    match render_sls(&text, &name, &renderer, &ctx) {
        Ok(Value::Map(m)) => Ok(m),
        Ok(other) => Err(format!(
            "{name}: a reactor SLS must render to a dict, not {}",
            other.type_name()
        )),
        Err(e) if e.message.contains(&name) => Err(e.message),
        Err(e) => Err(format!("{name}: {}", e.message)),
    }
}

/// Turn one high-data entry (`id: {state.fun: [args]}`) into a call.
fn reaction_to_call(id: &str, sls: &str, body: &Value) -> Result<LocalCall, String> {
    let Value::Map(body) = body else {
        return Err(format!("{sls}: reaction '{id}' is not a dict"));
    };
    let Some((key, args)) = body.iter().find(|(k, _)| !str_of(k).starts_with("__")) else {
        return Err(format!("{sls}: reaction '{id}' names no function"));
    };
    let key = str_of(key);
    let mut low = Map::default();
    let (state, mut fun) = match key.split_once('.') {
        Some((st, f)) => (st.to_string(), Some(f.to_string())),
        None => (key.clone(), None),
    };
    match args {
        Value::List(items) => {
            for item in items {
                match item {
                    Value::Map(m) => {
                        for (k, v) in m {
                            low.insert(k.clone(), v.clone());
                        }
                    }
                    Value::Str(f) if fun.is_none() => fun = Some(f.clone()),
                    other => {
                        return Err(format!(
                            "{sls}: reaction '{id}': unexpected argument {}",
                            str_of(other)
                        ))
                    }
                }
            }
        }
        Value::Null => {}
        _ => {
            return Err(format!(
                "{sls}: reaction '{id}': the arguments of {key} must be a list"
            ))
        }
    }
    let Some(fun) = fun else {
        return Err(format!("{sls}: reaction '{id}' names no function"));
    };
    let state = alias(&state);
    if state != "local" {
        return Err(format!(
            "{sls}: reaction '{id}': {state}.{fun} is not supported (Brine's reactor runs only local.* calls)"
        ));
    }
    let Some(tgt) = low.get(&s("tgt")).cloned() else {
        return Err(format!(
            "{sls}: reaction '{id}' failed to execute local '{fun}': missing tgt"
        ));
    };
    let tgt_type = low
        .get(&s("tgt_type"))
        .or_else(|| low.get(&s("expr_form")))
        .map(str_of)
        .unwrap_or("glob".into());
    let (arg, kwarg) = if let Some(args) = low.get(&s("args")) {
        // New syntax: `args` holds keyword arguments (a dict or a dictlist).
        let kwarg = match args {
            Value::Map(m) => m.clone(),
            Value::List(l) => {
                let mut m = Map::default();
                for item in l {
                    match item {
                        Value::Map(d) => m.extend(d.iter().map(|(k, v)| (k.clone(), v.clone()))),
                        _ => m.clear(),
                    }
                    if !matches!(item, Value::Map(_)) {
                        break;
                    }
                }
                m
            }
            _ => Map::default(),
        };
        if kwarg.is_empty() && args.truthy() {
            return Err(format!(
                "{sls}: reaction '{id}' failed to execute local '{fun}': Incorrect argument format, check the Reactor System documentation for the correct format."
            ));
        }
        (Vec::new(), kwarg)
    } else {
        let arg = match low.get(&s("arg")) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::List(l)) => l.clone(),
            Some(other) => vec![other.clone()],
        };
        let kwarg = match low.get(&s("kwarg")) {
            Some(Value::Map(m)) => m.clone(),
            None | Some(Value::Null) => Map::default(),
            Some(_) => return Err(format!("{sls}: reaction '{id}': kwarg must be a dict")),
        };
        (arg, kwarg)
    };
    Ok(LocalCall {
        tgt,
        tgt_type,
        fun,
        arg,
        kwarg,
    })
}

/// React to one event: every matching reactor SLS, rendered, as local
/// calls in definition order (or an error per file or entry that fails).
pub fn react(opts: &Map, tag: &str, data: &Value) -> Vec<Result<LocalCall, String>> {
    let reactors = match list_reactors(opts, tag) {
        Ok(r) => r,
        Err(e) => return vec![Err(e)],
    };
    if reactors.is_empty() {
        return Vec::new();
    }
    let client = roots_client(opts);
    let mut out = Vec::new();
    // High data across files: a later file's id replaces an earlier one.
    let mut high: IndexMap<String, (String, Value)> = IndexMap::new();
    for reference in &reactors {
        let files = match resolve(reference, &client) {
            Ok(f) if !f.is_empty() => f,
            Ok(_) | Err(_) => {
                out.push(Err(format!(
                    "Can not render SLS {reference} for tag {tag}. File missing or not found."
                )));
                continue;
            }
        };
        for file in files {
            match render_reaction(&file, opts, tag, data, &client) {
                Ok(m) => {
                    for (id, body) in m {
                        high.insert(str_of(&id), (file.display().to_string(), body));
                    }
                }
                Err(e) => out.push(Err(e)),
            }
        }
    }
    for (id, (sls, body)) in &high {
        out.push(reaction_to_call(id, sls, body));
    }
    out
}
