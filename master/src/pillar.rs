//! The master's pillar service: `_pillar` compiles a minion's pillar from
//! the master's `pillar_roots` with the grains the minion sent (Salt's
//! `AESFuncs._pillar` + `salt.pillar.Pillar.compile_pillar` on the master),
//! and records the minion data cache (`cachedir/minions/<id>/data.p`,
//! msgpack `{"grains": ..., "pillar": ...}`) that master-side targeting and
//! the mine read back with [`cached_data`]. Also the small `_master_opts`
//! and `_ext_nodes` answers.
//!
//! Pillar templates rendered on the master see the minion's grains and
//! `opts` built from the master's options (as `Pillar.__gen_opts` builds
//! them); `salt['...']` offers the few functions in [`MasterFunctions`].

use brine_core::compile::merge::merge;
use brine_core::fileclient::LocalFileClient;
use brine_core::functions::Functions;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use brine_core::wire::payload;
use indexmap::IndexMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Errors of the minion data cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("invalid minion id {0:?}")]
    InvalidId(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn get<'a>(m: &'a Map, key: &str) -> Option<&'a Value> {
    m.get(&s(key))
}

/// `salt.utils.verify.valid_id`: a minion id usable as one path component.
pub fn valid_id(id: &str) -> bool {
    !(id.is_empty()
        || id == "."
        || id == ".."
        || id.contains('/')
        || id.contains('\\')
        || id.contains('\0'))
}

/// The functions pillar templates may call on the master through
/// `salt['mod.fun']`: grains lookups over the minion's grains and the
/// trivial test functions. Anything else is "not available", as an
/// unknown function is in Salt.
pub struct MasterFunctions {
    pub grains: Value,
}

impl Functions for MasterFunctions {
    fn call(&self, fun: &str, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
        let arg = |i: usize, name: &str| args.get(i).or_else(|| kwargs.get(&s(name))).cloned();
        match fun {
            "grains.get" => {
                let key = arg(0, "key").map(|k| str_of(&k)).unwrap_or_default();
                let default = arg(1, "default").unwrap_or(s(""));
                let delim = arg(2, "delimiter")
                    .map(|d| str_of(&d))
                    .unwrap_or(":".into());
                Ok(self
                    .grains
                    .traverse(&key, &delim)
                    .cloned()
                    .unwrap_or(default))
            }
            "grains.items" => Ok(self.grains.clone()),
            "grains.item" => {
                let mut m = Map::default();
                for a in &args {
                    let k = str_of(a);
                    m.insert(s(&k), self.grains.get(&k).cloned().unwrap_or(s("")));
                }
                Ok(Value::Map(m))
            }
            "test.ping" | "test.true" => Ok(Value::Bool(true)),
            "test.false" => Ok(Value::Bool(false)),
            _ => Err(format!("'{fun}' is not available.")),
        }
    }
    fn has(&self, fun: &str) -> bool {
        self.names().iter().any(|n| n == fun)
    }
    fn names(&self) -> Vec<String> {
        [
            "grains.get",
            "grains.item",
            "grains.items",
            "test.false",
            "test.ping",
            "test.true",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    }
}

/// saltenv -> roots from an opts map entry (`pillar_roots`).
fn roots_of(opts: &Map, key: &str) -> IndexMap<String, Vec<PathBuf>> {
    let mut roots = IndexMap::new();
    if let Some(Value::Map(m)) = get(opts, key) {
        for (env, dirs) in m {
            let dirs = match dirs {
                Value::List(l) => l.iter().map(|d| PathBuf::from(str_of(d))).collect(),
                _ => Vec::new(),
            };
            roots.insert(str_of(env), dirs);
        }
    }
    roots
}

/// Salt's default pillar_roots when the option is absent.
fn default_pillar_roots() -> Value {
    let mut m = Map::default();
    m.insert(
        s("base"),
        Value::List(vec![s("/srv/pillar"), s("/srv/spm/pillar")]),
    );
    Value::Map(m)
}

/// `Pillar.__gen_opts`: the options pillar rendering sees for one minion.
fn gen_opts(
    master: &Map,
    grains: &Value,
    id: &str,
    saltenv: Option<&Value>,
    pillarenv: Option<&Value>,
) -> Map {
    let mut opts = master.clone();
    opts.insert(s("file_client"), s("local"));
    opts.insert(s("grains"), grains.clone());
    let saltenv = saltenv
        .filter(|v| !v.is_null())
        .cloned()
        .or_else(|| get(master, "saltenv").cloned())
        .unwrap_or(Value::Null);
    let requested = pillarenv.filter(|v| !v.is_null()).cloned();
    let pillarenv = match requested {
        Some(p) => p,
        None if get(master, "pillarenv_from_saltenv").is_some_and(Value::truthy) => saltenv.clone(),
        None => get(master, "pillarenv").cloned().unwrap_or(Value::Null),
    };
    opts.insert(s("saltenv"), saltenv.clone());
    opts.insert(s("pillarenv"), pillarenv.clone());
    opts.insert(s("id"), s(id));
    opts.insert(s("minion_id"), s(id));
    if !matches!(get(&opts, "pillar_roots"), Some(Value::Map(_))) {
        opts.insert(s("pillar_roots"), default_pillar_roots());
    }
    // `__env__` pillar_roots take the pillarenv (or saltenv) name, which
    // must then be a plain name, never a path.
    if let Some(Value::Map(roots)) = opts.get_mut(&s("pillar_roots")) {
        if let Some(generic) = roots.get(&s("__env__")).cloned() {
            let env = [&pillarenv, &saltenv]
                .into_iter()
                .find(|v| v.truthy())
                .map(str_of)
                .unwrap_or("base".into());
            roots.shift_remove(&s("__env__"));
            let plain = !(env.contains('/') || env == "." || env == "..");
            if !roots.contains_key(&s(&env)) && plain {
                let dirs = match generic {
                    Value::List(l) => l
                        .iter()
                        .map(|d| s(&str_of(d).replace("__env__", &env)))
                        .collect(),
                    _ => Vec::new(),
                };
                roots.insert(s(&env), Value::List(dirs));
            }
        }
    }
    opts
}

/// The `_pillar` request: compile the minion's pillar on the master and
/// record the minion data cache. `Ok(False)` when the load lacks `id` or
/// `grains` or the id is not valid, as Salt answers.
pub fn handle_pillar(opts: &Map, load: &Map) -> Result<Value, String> {
    let (Some(id), Some(grains)) = (get(load, "id"), get(load, "grains")) else {
        return Ok(Value::Bool(false));
    };
    let Value::Str(id) = id else {
        return Ok(Value::Bool(false));
    };
    if !valid_id(id) {
        return Ok(Value::Bool(false));
    }
    let mut grains = match grains {
        Value::Map(m) => m.clone(),
        _ => return Err(format!("_pillar from {id}: grains must be a dict")),
    };
    grains.insert(s("id"), s(id));
    let grains = Value::Map(grains);
    let saltenv = get(load, "saltenv").or_else(|| get(load, "env"));
    let popts = gen_opts(opts, &grains, id, saltenv, get(load, "pillarenv"));
    let client = LocalFileClient::new(roots_of(&popts, "pillar_roots"));
    let funcs = MasterFunctions {
        grains: grains.clone(),
    };
    let popts_v = Value::Map(popts);
    let mut pillar = match brine_core::compile::compile_pillar(&popts_v, &grains, &funcs, &client) {
        Value::Map(m) => m,
        _ => Map::default(),
    };
    let strategy = match get(opts, "pillar_source_merging_strategy") {
        Some(v) if v.truthy() => str_of(v),
        _ => "smart".to_string(),
    };
    let renderer = get(opts, "renderer")
        .map(str_of)
        .unwrap_or("jinja|yaml".into());
    let merge_lists = get(opts, "pillar_merge_lists").is_some_and(Value::truthy);
    if get(opts, "pillar_opts").is_some_and(Value::truthy) {
        let mut mopts = match popts_v {
            Value::Map(m) => m,
            _ => Map::default(),
        };
        mopts.shift_remove(&s("grains"));
        mopts.insert(s("saltversion"), s("3007.8"));
        pillar.insert(s("master"), Value::Map(mopts));
    }
    if let Some(Value::Map(over)) = get(load, "pillar_override") {
        if !over.is_empty() {
            pillar = merge(&pillar, over, &strategy, &renderer, merge_lists);
        }
    }
    let pillar = Value::Map(pillar);
    if !matches!(get(opts, "minion_data_cache"), Some(v) if !v.truthy()) {
        if let Some(cachedir) = get(opts, "cachedir").and_then(Value::as_str) {
            if let Err(e) = store_data(Path::new(cachedir), id, &grains, &pillar) {
                tracing::error!("minion data cache for {id}: {e}");
            }
        }
    }
    Ok(pillar)
}

/// `cachedir/minions/<id>`, created 0700.
fn minion_bank(cachedir: &Path, id: &str) -> Result<PathBuf, CacheError> {
    if !valid_id(id) {
        return Err(CacheError::InvalidId(id.to_string()));
    }
    let dir = cachedir.join("minions").join(id);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|source| CacheError::Io {
            path: dir.clone(),
            source,
        })?;
    Ok(dir)
}

/// Write one cache key (`<bank>/<key>.p`, msgpack, 0600, atomically).
pub(crate) fn store(cachedir: &Path, id: &str, key: &str, data: &Value) -> Result<(), CacheError> {
    let path = minion_bank(cachedir, id)?.join(format!("{key}.p"));
    brine_core::fsutil::write_atomic(&path, &payload::dumps_bin(data), Some(0o600))
        .map_err(|source| CacheError::Io { path, source })
}

/// Read one cache key; `None` when absent or unreadable.
pub(crate) fn fetch(cachedir: &Path, id: &str, key: &str) -> Option<Value> {
    if !valid_id(id) {
        return None;
    }
    let path = cachedir.join("minions").join(id).join(format!("{key}.p"));
    let bytes = std::fs::read(&path).ok()?;
    match payload::loads(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!("{}: {e}", path.display());
            None
        }
    }
}

/// Record a minion's grains and pillar (Salt's `minions/<id>/data.p`).
pub fn store_data(
    cachedir: &Path,
    id: &str,
    grains: &Value,
    pillar: &Value,
) -> Result<(), CacheError> {
    let mut m = Map::default();
    m.insert(s("grains"), grains.clone());
    m.insert(s("pillar"), pillar.clone());
    store(cachedir, id, "data", &Value::Map(m))
}

/// A minion's cached (grains, pillar), as the last `_pillar` left them.
pub fn cached_data(cachedir: &Path, id: &str) -> Option<(Value, Value)> {
    let data = fetch(cachedir, id, "data")?;
    let grains = data.get("grains").cloned().unwrap_or(Value::map());
    let pillar = data.get("pillar").cloned().unwrap_or(Value::map());
    Some((grains, pillar))
}

/// Salt 3007.8's master defaults for the options `_master_opts` sends.
/// Builds one default value.
type DefaultFn = fn() -> Value;

const MASTER_OPTS_DEFAULTS: &[(&str, DefaultFn)] = &[
    ("top_file_merging_strategy", || s("merge")),
    ("env_order", || Value::List(vec![])),
    ("default_top", || s("base")),
    ("renderer", || s("jinja|yaml")),
    ("failhard", || Value::Bool(false)),
    ("state_top", || s("top.sls")),
    ("state_top_saltenv", || Value::Null),
    ("nodegroups", Value::map),
    ("state_auto_order", || Value::Bool(true)),
    ("state_events", || Value::Bool(false)),
    ("state_aggregate", || Value::Bool(false)),
    ("jinja_env", Value::map),
    ("jinja_sls_env", Value::map),
    ("jinja_lstrip_blocks", || Value::Bool(false)),
    ("jinja_trim_blocks", || Value::Bool(false)),
];

/// `AESFuncs._master_opts`: the saltenvs (as `file_roots` with empty
/// lists) and the master options that shape a minion's highstate; only
/// the first three with `env_only`.
pub fn master_opts_reply(opts: &Map, load: &Map) -> Value {
    let mut mopts = Map::default();
    let fs = crate::fileserver::FileServer::from_opts(opts);
    let mut file_roots = Map::default();
    if let Some(Value::List(envs)) = fs
        .handle("_file_envs", &Map::default())
        .and_then(Result::ok)
    {
        for e in envs {
            file_roots.insert(e, Value::List(vec![]));
        }
    }
    mopts.insert(s("file_roots"), Value::Map(file_roots));
    let env_only = get(load, "env_only").is_some_and(Value::truthy);
    for (i, (key, default)) in MASTER_OPTS_DEFAULTS.iter().enumerate() {
        if env_only && i == 3 {
            break;
        }
        let v = get(opts, key).cloned().unwrap_or_else(default);
        mopts.insert(s(key), v);
    }
    Value::Map(mopts)
}

/// `_ext_nodes` / `_master_tops`: Brine has no master_tops, so `{}`.
pub fn ext_nodes_reply(_opts: &Map, _load: &Map) -> Value {
    Value::map()
}
