//! The master's file server: the `roots` backend minions reach through
//! `_file_list`, `_file_list_emptydirs`, `_dir_list`, `_symlink_list`,
//! `_file_hash`, `_file_hash_and_stat`, `_file_find`, `_serve_file` and
//! `_file_envs`.
//!
//! Mirrors salt/fileserver/__init__.py (`Fileserver`) and
//! salt/fileserver/roots.py of Salt 3007.8, answer for answer: the same
//! result shapes (an unknown file is `{"path": "", "rel": ""}`, an unknown
//! saltenv an empty list, ...), the same path checks (absolute paths and
//! `../` are refused; a path must stay under its root, resolving symlinks
//! only when `fileserver_followsymlinks` is off), `file_ignore_regex` /
//! `file_ignore_glob`, `fileserver_ignoresymlinks` and chunked serving by
//! `loc` and `file_buffer_size`.
//!
//! Differences, on purpose: file lists are walked afresh on each request
//! (Salt caches them for `fileserver_list_cache_time` seconds); file hashes
//! are cached in memory by (mtime, size) rather than under
//! cachedir/roots/hash; a symlinked directory loop is walked once instead of
//! until the OS refuses; an `__env__` root only takes saltenv names that
//! cannot act as paths (no `/`, not `.`/`..`); `gzip` replies are valid gzip
//! members made of stored (uncompressed) deflate blocks.

use brine_core::config::abspath;
pub use brine_core::config::normpath;
use brine_core::matcher::fnmatch::fnmatch;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use brine_minion::modules::file::py_dirname as dirname;
use indexmap::IndexMap;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The request commands this module answers.
pub const COMMANDS: &[&str] = &[
    "_file_list",
    "_file_list_emptydirs",
    "_dir_list",
    "_symlink_list",
    "_file_hash",
    "_file_hash_and_stat",
    "_file_find",
    "_serve_file",
    "_file_envs",
];

/// Salt's default `file_buffer_size` on the master (1 MiB; minions
/// default to 262144).
pub const DEFAULT_BUFFER_SIZE: usize = 1_048_576;

/// How deep a symlink chain may go while resolving a real path (Linux's
/// own limit is 40).
const MAX_SYMLINK_DEPTH: usize = 40;

/// The `roots` file server over the master's `file_roots`.
pub struct FileServer {
    /// saltenv -> roots, in configuration order.
    roots: IndexMap<String, Vec<String>>,
    /// Whether `roots` is among `fileserver_backend`.
    enabled: bool,
    followsymlinks: bool,
    ignoresymlinks: bool,
    ignore_regex: Vec<Regex>,
    ignore_glob: Vec<String>,
    buffer_size: usize,
    hash_type: String,
    /// path -> (mtime ns, size, hex digest) for `hash_type`.
    hash_cache: Mutex<HashMap<PathBuf, (i128, u64, String)>>,
}

/// What `find_file` answers (Salt's `fnd` dict).
#[derive(Debug, Clone)]
struct Found {
    path: String,
    rel: String,
    stat: Option<Vec<Value>>,
}

/// The four lists one walk of an environment produces.
#[derive(Default)]
struct Lists {
    files: BTreeSet<String>,
    dirs: BTreeSet<String>,
    empty_dirs: BTreeSet<String>,
    links: BTreeMap<String, String>,
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn opt_bool(opts: &Map, key: &str, default: bool) -> bool {
    match opts.get(&s(key)) {
        Some(Value::Null) | None => default,
        Some(v) => v.truthy(),
    }
}

/// A string or a list of strings (Salt accepts both for the ignore options).
fn str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Str(x)) => vec![x.clone()],
        Some(Value::List(l)) => l.iter().map(str_of).collect(),
        _ => Vec::new(),
    }
}

impl FileServer {
    /// Build the file server from the master options (Salt's option names).
    pub fn from_opts(opts: &Map) -> FileServer {
        let mut roots = IndexMap::new();
        match opts.get(&s("file_roots")) {
            Some(Value::Map(m)) => {
                for (env, dirs) in m {
                    let dirs = match dirs {
                        Value::List(l) => l.iter().map(str_of).collect(),
                        _ => Vec::new(),
                    };
                    roots.insert(str_of(env), dirs);
                }
            }
            _ => {
                roots.insert(
                    "base".to_string(),
                    vec!["/srv/salt".to_string(), "/srv/spm/salt".to_string()],
                );
            }
        }
        let backends = match opts.get(&s("fileserver_backend")) {
            Some(v @ (Value::List(_) | Value::Str(_))) => str_list(Some(v)),
            _ => vec!["roots".to_string()],
        };
        let mut ignore_regex = Vec::new();
        for r in str_list(opts.get(&s("file_ignore_regex"))) {
            match Regex::new(&r) {
                Ok(re) => ignore_regex.push(re),
                Err(e) => tracing::warn!("file_ignore_regex {r:?} is not a valid regex: {e}"),
            }
        }
        let buffer_size = match opts.get(&s("file_buffer_size")).and_then(Value::as_int) {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(DEFAULT_BUFFER_SIZE),
            _ => DEFAULT_BUFFER_SIZE,
        };
        FileServer {
            enabled: backends.iter().any(|b| b == "roots"),
            roots,
            followsymlinks: opt_bool(opts, "fileserver_followsymlinks", true),
            ignoresymlinks: opt_bool(opts, "fileserver_ignoresymlinks", false),
            ignore_regex,
            ignore_glob: str_list(opts.get(&s("file_ignore_glob"))),
            buffer_size,
            hash_type: match opts.get(&s("hash_type")) {
                Some(Value::Str(h)) => h.to_lowercase(),
                _ => "sha256".to_string(),
            },
            hash_cache: Mutex::new(HashMap::new()),
        }
    }

    /// Answer one file server request; `None` when `cmd` is not one.
    pub fn handle(&self, cmd: &str, load: &Map) -> Option<Result<Value, String>> {
        Some(match cmd {
            "_file_list" => Ok(self.list_cmd(load, |l| strs(&l.files))),
            "_file_list_emptydirs" => Ok(self.list_cmd(load, |l| strs(&l.empty_dirs))),
            "_dir_list" => Ok(self.list_cmd(load, |l| strs(&l.dirs))),
            "_symlink_list" => self.symlink_list(load),
            "_file_hash" => self.file_hash_and_stat(load).map(|(h, _)| h),
            "_file_hash_and_stat" => self
                .file_hash_and_stat(load)
                .map(|(h, st)| Value::List(vec![h, st])),
            "_file_find" => self.file_find(load),
            "_serve_file" => self.serve_file(load),
            "_file_envs" => Ok(self.file_envs(load)),
            _ => return None,
        })
    }

    /// `Fileserver.backends(back)`: whether `roots` is among them.
    fn roots_backend(&self, back: Option<&Value>) -> bool {
        let back: Vec<String> = match back {
            None | Some(Value::Null) => return self.enabled,
            Some(v) if !v.truthy() => return self.enabled,
            Some(Value::List(l)) => l.iter().map(str_of).collect(),
            Some(v) => str_of(v).split(',').map(str::to_string).collect(),
        };
        if back.iter().all(|b| b.starts_with('-')) {
            return self.enabled && !back.iter().any(|b| b == "-roots");
        }
        self.enabled && back.iter().any(|b| b == "roots")
    }

    /// The roots serving `saltenv`, with `__env__` resolved.
    fn env_roots(&self, saltenv: &str) -> Option<Vec<String>> {
        if let Some(r) = self.roots.get(saltenv) {
            return Some(r.clone());
        }
        let generic = self.roots.get("__env__")?;
        // The saltenv becomes part of a path here: refuse names that could
        // leave the configured directory.
        if saltenv.is_empty() || saltenv.contains('/') || saltenv == "." || saltenv == ".." {
            return None;
        }
        Some(
            generic
                .iter()
                .map(|r| r.replace("__env__", saltenv))
                .collect(),
        )
    }

    fn is_file_ignored(&self, fname: &str) -> bool {
        self.ignore_regex.iter().any(|re| re.is_match(fname))
            || self.ignore_glob.iter().any(|g| fnmatch(fname, g))
    }

    /// `Fileserver.find_file` + `roots.find_file`.
    fn find_file(&self, path: &str, saltenv: &str) -> Option<Found> {
        if !self.enabled {
            return None;
        }
        let mut saltenv = saltenv.to_string();
        let mut kwargs: HashMap<String, String> = HashMap::new();
        let path = if let Some(p) = path.strip_prefix('|') {
            p.trim_start_matches('|').to_string()
        } else if let Some((p, query)) = path.split_once('?') {
            for comp in query.split('&') {
                if let Some((k, v)) = comp.split_once('=') {
                    kwargs.insert(k.to_string(), v.to_string());
                }
            }
            p.to_string()
        } else {
            path.to_string()
        };
        if path.starts_with('/') || path.contains("../") {
            return None;
        }
        if let Some(env) = kwargs.remove("saltenv") {
            saltenv = env;
        }
        let path = normpath(&path);
        if path.starts_with('/') {
            return None;
        }
        let roots = self.env_roots(&saltenv)?;
        if let Some(index) = kwargs.get("index") {
            let root = roots.get(index.trim().parse::<usize>().ok()?)?;
            let full = join(root, &path);
            if is_file(&full) && !self.is_file_ignored(&full) {
                return Some(found(full, path));
            }
            return None;
        }
        for root in &roots {
            let full = join(root, &path);
            if !clean_path(root, &full, !self.followsymlinks) {
                continue;
            }
            if is_file(&full) && !self.is_file_ignored(&full) {
                return Some(found(full, path));
            }
        }
        None
    }

    fn file_find(&self, load: &Map) -> Result<Value, String> {
        let path = match load.get(&s("path")) {
            Some(Value::Str(p)) if !p.is_empty() => p.clone(),
            Some(v) if v.truthy() => return Err("_file_find: path must be a string".into()),
            _ => return Ok(empty_fnd()),
        };
        let saltenv = load.get(&s("saltenv")).map(str_of).unwrap_or("base".into());
        Ok(match self.find_file(&path, &saltenv) {
            Some(f) => fnd_value(&f),
            None => empty_fnd(),
        })
    }

    /// `Fileserver.serve_file` + `roots.serve_file`: one chunk at `loc`.
    fn serve_file(&self, load: &Map) -> Result<Value, String> {
        let mut ret = Map::default();
        ret.insert(s("data"), s(""));
        ret.insert(s("dest"), s(""));
        let (Some(path), Some(loc), Some(saltenv)) = (
            load.get(&s("path")),
            load.get(&s("loc")),
            load.get(&s("saltenv")),
        ) else {
            return Ok(Value::Map(ret));
        };
        let Value::Str(path) = path else {
            return Err("_serve_file: path must be a string".into());
        };
        let Some(fnd) = self.find_file(path, &str_of(saltenv)) else {
            return Ok(Value::Map(ret));
        };
        let loc = match loc {
            Value::Int(n) if *n >= 0 => {
                u64::try_from(*n).map_err(|_| "_serve_file: loc is too large")?
            }
            Value::Bool(b) => *b as u64,
            other => return Err(format!("_serve_file: invalid loc {}", str_of(other))),
        };
        ret.insert(s("dest"), s(&fnd.rel));
        let fpath = normpath(&fnd.path);
        let saltenv = str_of(saltenv);
        let Some(roots) = self.env_roots(&saltenv) else {
            // Salt answers the whole `fnd` here (a `path?saltenv=` query
            // found the file in another saltenv than the load's).
            return Ok(fnd_value(&fnd));
        };
        let in_root = roots
            .iter()
            .any(|root| clean_path(root, &fpath, !self.followsymlinks));
        if !in_root {
            return Ok(Value::Map(ret));
        }
        let mut f = std::fs::File::open(&fpath).map_err(|e| format!("{fpath}: {e}"))?;
        f.seek(SeekFrom::Start(loc))
            .map_err(|e| format!("{fpath}: {e}"))?;
        let mut data = Vec::with_capacity(self.buffer_size.min(1 << 20));
        f.take(self.buffer_size as u64)
            .read_to_end(&mut data)
            .map_err(|e| format!("{fpath}: {e}"))?;
        let gzip = load.get(&s("gzip")).filter(|g| g.truthy());
        match gzip {
            Some(level) if !data.is_empty() => {
                let level = match level {
                    Value::Int(n) if (0..=9).contains(n) => level.clone(),
                    Value::Bool(true) => Value::Int(1),
                    other => {
                        return Err(format!("_serve_file: invalid gzip level {}", str_of(other)))
                    }
                };
                ret.insert(s("data"), Value::Bytes(gzip_stored(&data)));
                ret.insert(s("gzip"), level);
            }
            _ => {
                ret.insert(s("data"), Value::Bytes(data));
            }
        }
        Ok(Value::Map(ret))
    }

    /// `_file_hash` / `_file_hash_and_stat`: (hash dict or "", stat or None).
    fn file_hash_and_stat(&self, load: &Map) -> Result<(Value, Value), String> {
        let none = (s(""), Value::Null);
        let (Some(path), Some(saltenv)) = (load.get(&s("path")), load.get(&s("saltenv"))) else {
            return Ok(none);
        };
        let Value::Str(path) = path else {
            return Err("_file_hash: path must be a string".into());
        };
        let Some(fnd) = self.find_file(path, &str_of(saltenv)) else {
            return Ok(none);
        };
        let stat = fnd.stat.clone().map(Value::List).unwrap_or(Value::Null);
        let mut ret = Map::default();
        if !is_file(&fnd.path) {
            return Ok((Value::Map(ret), stat));
        }
        ret.insert(s("hash_type"), s(&self.hash_type));
        ret.insert(s("hsum"), s(&self.hash(Path::new(&fnd.path))?));
        Ok((Value::Map(ret), stat))
    }

    /// The hex digest of a file with `hash_type`, cached by (mtime, size).
    fn hash(&self, path: &Path) -> Result<String, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mtime = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
        if let Ok(cache) = self.hash_cache.lock() {
            if let Some((m, size, h)) = cache.get(path) {
                if *m == mtime && *size == meta.len() {
                    return Ok(h.clone());
                }
            }
        }
        let h = hash_file(path, &self.hash_type)?;
        if let Ok(mut cache) = self.hash_cache.lock() {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert(path.to_path_buf(), (mtime, meta.len(), h.clone()));
        }
        Ok(h)
    }

    /// `_file_envs`: the saltenvs (sorted), or `{"roots": [...]}` with `sources`.
    fn file_envs(&self, load: &Map) -> Value {
        let back = load.get(&s("back"));
        let envs: Vec<Value> = if self.roots_backend(back) {
            let mut e: Vec<&String> = self.roots.keys().collect();
            e.sort();
            e.into_iter().map(|x| s(x)).collect()
        } else {
            Vec::new()
        };
        if load.get(&s("sources")).is_some_and(Value::truthy) {
            let mut m = Map::default();
            if !envs.is_empty() || self.roots_backend(back) {
                m.insert(s("roots"), Value::List(envs));
            }
            return Value::Map(m);
        }
        Value::List(envs)
    }

    /// The saltenv of a list request (`None`: no `saltenv` key).
    fn load_env(load: &Map) -> Option<String> {
        load.get(&s("saltenv")).map(str_of)
    }

    fn prefix(load: &Map) -> Result<String, String> {
        match load.get(&s("prefix")) {
            None => Ok(String::new()),
            Some(Value::Str(p)) => Ok(p.trim_matches('/').to_string()),
            Some(_) => Err("prefix must be a string".into()),
        }
    }

    /// `_file_list`, `_file_list_emptydirs`, `_dir_list`.
    fn list_cmd(&self, load: &Map, pick: impl Fn(&Lists) -> Vec<String>) -> Value {
        let Some(saltenv) = Self::load_env(load) else {
            return Value::List(vec![]);
        };
        if !self.roots_backend(load.get(&s("fsbackend"))) {
            return Value::List(vec![]);
        }
        let Some(lists) = self.walk_env(&saltenv) else {
            return Value::List(vec![]);
        };
        let prefix = Self::prefix(load).unwrap_or_default();
        Value::List(
            pick(&lists)
                .into_iter()
                .filter(|f| f.starts_with(&prefix))
                .map(Value::Str)
                .collect(),
        )
    }

    fn symlink_list(&self, load: &Map) -> Result<Value, String> {
        let Some(saltenv) = Self::load_env(load) else {
            return Ok(Value::map());
        };
        if !self.roots_backend(load.get(&s("fsbackend"))) {
            return Ok(Value::map());
        }
        let prefix = Self::prefix(load)?;
        let Some(lists) = self.walk_env(&saltenv) else {
            return Ok(Value::map());
        };
        let mut m = Map::default();
        for (k, v) in lists.links {
            if k.starts_with(&prefix) {
                m.insert(Value::Str(k), Value::Str(v));
            }
        }
        Ok(Value::Map(m))
    }

    /// `roots._file_lists`: walk every root of `saltenv`.
    fn walk_env(&self, saltenv: &str) -> Option<Lists> {
        if !self.enabled {
            return None;
        }
        let roots = self.env_roots(saltenv)?;
        let mut lists = Lists::default();
        for root in &roots {
            self.walk_root(root, &mut lists);
        }
        Some(lists)
    }

    /// `os.walk(root, followlinks=fileserver_followsymlinks)` feeding
    /// `_add_to` for directories and files.
    fn walk_root(&self, root: &str, lists: &mut Lists) {
        let real_root = realpath(&abspath(root));
        let mut stack: Vec<(String, Vec<PathBuf>)> = vec![(root.to_string(), Vec::new())];
        let mut visited = 0usize;
        while let Some((dir, ancestors)) = stack.pop() {
            visited += 1;
            if visited > 1_000_000 {
                tracing::warn!("file server walk of {root} stopped after 1,000,000 directories");
                break;
            }
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut dirs = Vec::new();
            let mut files = Vec::new();
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let full = join(&dir, &name);
                // os.walk classifies with is_dir(), which follows symlinks.
                if std::fs::metadata(&full)
                    .map(|m| m.is_dir())
                    .unwrap_or(false)
                {
                    dirs.push(name);
                } else {
                    files.push(name);
                }
            }
            self.add_to(lists, true, root, &real_root, &dir, &dirs);
            self.add_to(lists, false, root, &real_root, &dir, &files);
            let here = realpath(&abspath(&dir));
            let mut next = ancestors.clone();
            next.push(here);
            for d in dirs.iter().rev() {
                let full = join(&dir, d);
                let is_link = is_symlink(&full);
                if is_link {
                    if !self.followsymlinks {
                        continue;
                    }
                    // A link back to a directory being walked would loop.
                    let target = realpath(&abspath(&full));
                    if next.iter().any(|a| a == &target) {
                        continue;
                    }
                }
                stack.push((full, next.clone()));
            }
        }
    }

    fn add_to(
        &self,
        lists: &mut Lists,
        dirs: bool,
        root: &str,
        real_root: &Path,
        parent: &str,
        items: &[String],
    ) {
        for item in items {
            let abs_path = join(parent, item);
            let is_link = is_symlink(&abs_path);
            if is_link && self.ignoresymlinks {
                continue;
            }
            let rel_path = relpath(&abs_path, root);
            if self.is_file_ignored(&rel_path) {
                continue;
            }
            if dirs {
                lists.dirs.insert(rel_path.clone());
            } else {
                lists.files.insert(rel_path.clone());
            }
            if let Ok(mut rd) = std::fs::read_dir(&abs_path) {
                if rd.next().is_none() {
                    lists.empty_dirs.insert(rel_path.clone());
                }
            }
            if is_link {
                let Ok(dest) = std::fs::read_link(&abs_path) else {
                    continue;
                };
                let link_dest = dest.to_string_lossy().into_owned();
                // Salt joins a `..`-relative target to the link itself.
                let joined = if link_dest.starts_with("..") {
                    join(&abs_path, &link_dest)
                } else {
                    join(&dirname(&abs_path), &link_dest)
                };
                let real = realpath(&abspath(&normpath(&joined)));
                let rel_dest = relpath_abs(&real, real_root);
                if !rel_dest.starts_with("..") || !self.followsymlinks {
                    lists.links.insert(rel_path, link_dest);
                }
            }
        }
    }
}

fn strs(set: &BTreeSet<String>) -> Vec<String> {
    set.iter().cloned().collect()
}

fn empty_fnd() -> Value {
    let mut m = Map::default();
    m.insert(s("path"), s(""));
    m.insert(s("rel"), s(""));
    Value::Map(m)
}

fn fnd_value(f: &Found) -> Value {
    let mut m = Map::default();
    m.insert(s("path"), s(&f.path));
    m.insert(s("rel"), s(&f.rel));
    if let Some(st) = &f.stat {
        m.insert(s("stat"), Value::List(st.clone()));
    }
    m.insert(s("back"), s("roots"));
    Value::Map(m)
}

fn found(full: String, rel: String) -> Found {
    let stat = std::fs::metadata(&full).ok().map(|m| {
        [
            m.mode() as i128,
            m.ino() as i128,
            m.dev() as i128,
            m.nlink() as i128,
            m.uid() as i128,
            m.gid() as i128,
            m.size() as i128,
            m.atime() as i128,
            m.mtime() as i128,
            m.ctime() as i128,
        ]
        .into_iter()
        .map(Value::Int)
        .collect()
    });
    Found {
        path: full,
        rel,
        stat,
    }
}

fn is_file(p: &str) -> bool {
    std::fs::metadata(p).map(|m| m.is_file()).unwrap_or(false)
}

fn is_symlink(p: &str) -> bool {
    std::fs::symlink_metadata(p)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

/// `os.path.join(a, b)` for two parts.
fn join(a: &str, b: &str) -> String {
    if b.starts_with('/') || a.is_empty() {
        b.to_string()
    } else if a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `os.path.realpath` (non-strict): resolve symlinks component by
/// component, keeping what does not exist.
fn realpath(p: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    let mut pending: Vec<String> = abspath(p)
        .split('/')
        .filter(|c| !c.is_empty())
        .rev()
        .map(str::to_string)
        .collect();
    let mut hops = 0;
    while let Some(c) = pending.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                out.pop();
                continue;
            }
            _ => {}
        }
        let next = out.join(&c);
        match std::fs::read_link(&next) {
            Ok(target) if hops < MAX_SYMLINK_DEPTH => {
                hops += 1;
                let t = target.to_string_lossy().into_owned();
                if t.starts_with('/') {
                    out = PathBuf::from("/");
                }
                for part in t.split('/').filter(|x| !x.is_empty()).rev() {
                    pending.push(part.to_string());
                }
            }
            _ => out = next,
        }
    }
    out
}

/// `os.path.relpath(path, start)`.
fn relpath(path: &str, start: &str) -> String {
    relpath_abs(Path::new(&abspath(path)), Path::new(&abspath(start)))
}

fn relpath_abs(path: &Path, start: &Path) -> String {
    let p: Vec<_> = path.components().collect();
    let st: Vec<_> = start.components().collect();
    let common = p.iter().zip(&st).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); st.len() - common];
    parts.extend(
        p[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// `salt.utils.verify.clean_path(root, path, subdir=True, realpath)`.
fn clean_path(root: &str, path: &str, resolve: bool) -> bool {
    let root = abspath(root);
    let path = if path.starts_with('/') {
        normpath(path)
    } else {
        normpath(&join(&root, path))
    };
    let (root, path) = if resolve {
        (realpath(&root), realpath(&path))
    } else {
        (PathBuf::from(root), PathBuf::from(path))
    };
    path.starts_with(&root)
}

/// `salt.utils.hashutils.get_hash(path, form)`.
fn hash_file(path: &Path, form: &str) -> Result<String, String> {
    use sha2::Digest;
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(err)?;
    fn stream<D: Digest>(f: &mut std::fs::File, mut d: D) -> std::io::Result<String> {
        let mut buf = vec![0u8; 65536];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            d.update(&buf[..n]);
        }
        Ok(brine_core::jinja::hashes::hex(&d.finalize()))
    }
    match form {
        "md5" => {
            let mut data = Vec::new();
            f.read_to_end(&mut data).map_err(err)?;
            Ok(brine_core::jinja::hashes::hex(
                &brine_core::jinja::hashes::md5(&data),
            ))
        }
        "sha1" => stream(&mut f, sha1::Sha1::new()).map_err(err),
        "sha224" => stream(&mut f, sha2::Sha224::new()).map_err(err),
        "sha256" => stream(&mut f, sha2::Sha256::new()).map_err(err),
        "sha384" => stream(&mut f, sha2::Sha384::new()).map_err(err),
        "sha512" => stream(&mut f, sha2::Sha512::new()).map_err(err),
        other => Err(format!("Invalid hash type '{other}'")),
    }
}

/// A gzip member holding `data` in stored deflate blocks.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normpath_like_python() {
        for (i, o) in [
            ("a/./b", "a/b"),
            ("a/../../b", "../b"),
            ("/../a", "/a"),
            ("", "."),
            ("a/..", "."),
            ("//a//b/", "/a/b"),
        ] {
            assert_eq!(normpath(i), o, "{i}");
        }
    }

    #[test]
    fn relpath_like_python() {
        assert_eq!(relpath("/a/b/c", "/a"), "b/c");
        assert_eq!(relpath("/a", "/a/b"), "..");
        assert_eq!(relpath("/x/y", "/a/b"), "../../x/y");
    }

    #[test]
    fn crc32_known() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
