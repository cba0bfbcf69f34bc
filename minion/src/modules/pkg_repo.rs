//! apt sources functions of the `pkg` module (salt/modules/aptpkg.py
//! without python-apt): list_repos, get_repo, mod_repo, del_repo, and
//! Salt's own `SourceEntry`/`SourcesList` parser for one-line `.list`
//! files (`/etc/apt/sources.list`, `/etc/apt/sources.list.d/**/*.list`),
//! `signed-by` keyrings included.
//!
//! Like Salt, saving rewrites every line of the files it read through
//! `SourceEntry.repo_line()` (so `deb file:/r ./` gains a trailing space
//! where the component list is empty).

use super::pkg::{refresh_db, run_cmd, PkgError};
use super::{bind, invocation_error, is_true, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("list_repos", fn_list_repos),
    ("get_repo", fn_get_repo),
    ("mod_repo", fn_mod_repo),
    ("del_repo", fn_del_repo),
];

/// `SourceEntry().file`: the default sources file.
pub const BASE_FILE: &str = "/etc/apt/sources.list";
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

/// One option of a `[...]` block (`_get_opts`): its text and value.
#[derive(Debug, Clone, PartialEq)]
struct Opt {
    full: String,
    value: OptValue,
}

#[derive(Debug, Clone, PartialEq)]
enum OptValue {
    One(String),
    Many(Vec<String>),
}

/// `_get_opts(line)`: the `key=value` options of the `[...]` block, in
/// order (`arch` and `signed-by` under the keys `arch` and `signedby`).
fn get_opts(line: &str) -> Result<IndexMap<String, Opt>, PkgError> {
    let re = regex::Regex::new(r"\[(.*=.*)\]").expect("static regex");
    let mut ret = IndexMap::new();
    let Some(m) = re.find(line) else {
        return Ok(ret);
    };
    let opts = m.as_str().trim_matches(|c| c == '[' || c == ']');
    let mut architectures: Vec<String> = Vec::new();
    for opt in opts.split_whitespace() {
        let value = opt
            .split_once('=')
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| {
                PkgError::exec(format!(
                    "Invalid option '{opt}' in apt source line '{}'",
                    line.trim()
                ))
            })?;
        if opt.starts_with("arch") {
            architectures.extend(value.split(',').map(str::to_string));
            ret.insert(
                "arch".to_string(),
                Opt {
                    full: opt.to_string(),
                    value: OptValue::Many(architectures.clone()),
                },
            );
        } else if opt.starts_with("signed-by") {
            ret.insert(
                "signedby".to_string(),
                Opt {
                    full: opt.to_string(),
                    value: OptValue::One(value),
                },
            );
        } else {
            let key = opt.split('=').next().unwrap_or(opt).to_string();
            ret.insert(
                key,
                Opt {
                    full: opt.to_string(),
                    value: OptValue::One(value),
                },
            );
        }
    }
    Ok(ret)
}

/// `_invalid(line)`: (disabled, invalid, comment, words).
fn invalid(line: &str) -> (bool, bool, String, Vec<String>) {
    let mut line = line.trim().to_string();
    if line.is_empty() {
        return (false, true, String::new(), vec![]);
    }
    let mut disabled = false;
    if let Some(rest) = line.strip_prefix('#') {
        disabled = true;
        line = rest.to_string();
    }
    let mut comment = String::new();
    if let Some(idx) = line.find('#').filter(|i| *i > 0) {
        comment = line[idx + 1..].to_string();
        line.truncate(idx);
    }
    let cdrom = regex::Regex::new(r"(.*)(cdrom:.*/)(.*)").expect("static regex");
    let trimmed = line.trim();
    let words: Vec<String> = match cdrom.captures(trimmed) {
        Some(c) => {
            let mut w: Vec<String> = c[1].split_whitespace().map(str::to_string).collect();
            w.push(c[2].trim().to_string());
            w.extend(c[3].split_whitespace().map(str::to_string));
            w
        }
        None => trimmed.split_whitespace().map(str::to_string).collect(),
    };
    if words.is_empty()
        || !["deb", "deb-src", "rpm", "rpm-src"].contains(&words[0].as_str())
        || words.len() < 3
    {
        return (disabled, true, comment, words);
    }
    if words[1].starts_with('[') && !words[1..].iter().any(|x| x.ends_with(']')) {
        return (disabled, true, comment, words);
    }
    (disabled, false, comment, words)
}

/// Salt's `SourceEntry` (the class it uses without python-apt).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEntry {
    pub invalid: bool,
    pub comps: Vec<String>,
    pub disabled: bool,
    pub comment: String,
    pub dist: String,
    pub type_: String,
    pub uri: String,
    /// The raw line (with its newline when read from a file).
    pub line: String,
    pub architectures: Vec<String>,
    pub signedby: String,
    pub file: String,
}

impl SourceEntry {
    /// Parse `line` (from `file`, default `/etc/apt/sources.list`).
    pub fn new(line: &str, file: Option<&str>) -> Result<SourceEntry, PkgError> {
        let mut e = SourceEntry {
            invalid: false,
            comps: vec![],
            disabled: false,
            comment: String::new(),
            dist: String::new(),
            type_: String::new(),
            uri: String::new(),
            line: line.to_string(),
            architectures: vec![],
            signedby: String::new(),
            file: file.unwrap_or(BASE_FILE).to_string(),
        };
        e.parse()?;
        Ok(e)
    }

    fn parse(&mut self) -> Result<(), PkgError> {
        let (disabled, inv, comment, mut words) = invalid(&self.line);
        self.disabled = disabled;
        self.invalid = inv;
        self.comment = comment;
        if inv {
            return Ok(());
        }
        let bad = || PkgError::exec(format!("Invalid apt source line '{}'", self.line.trim()));
        if words[1].starts_with('[') {
            words = words
                .iter()
                .map(|w| w.trim_matches(|c| c == '[' || c == ']').to_string())
                .filter(|w| !w.is_empty())
                .collect();
            let opts = get_opts(&self.line)?;
            if let Some(o) = opts.get("arch") {
                if let OptValue::Many(a) = &o.value {
                    self.architectures.extend(a.iter().cloned());
                }
            }
            if let Some(Opt {
                value: OptValue::One(s),
                ..
            }) = opts.get("signedby")
            {
                self.signedby = s.clone();
            }
            for o in opts.values() {
                if o.full.is_empty() {
                    continue;
                }
                let bracketed = format!("[{}]", o.full);
                let pos = words
                    .iter()
                    .position(|w| *w == o.full)
                    .or_else(|| words.iter().position(|w| *w == bracketed))
                    .ok_or_else(bad)?;
                words.remove(pos);
            }
        }
        if words.len() < 3 {
            return Err(bad());
        }
        self.type_ = words[0].clone();
        self.uri = words[1].clone();
        self.dist = words[2].clone();
        self.comps = words[3..].to_vec();
        Ok(())
    }

    /// `repo_line()`: the line as Salt writes it back.
    pub fn repo_line(&self) -> Result<String, PkgError> {
        if self.invalid {
            return Ok(self.line.clone());
        }
        let mut parts: Vec<String> = Vec::new();
        if self.disabled {
            parts.push("#".into());
        }
        parts.push(self.type_.clone());
        let mut opts = get_opts(&self.line)?;
        if !self.architectures.is_empty() {
            opts.insert(
                "arch".into(),
                Opt {
                    full: format!("arch={}", self.architectures.join(",")),
                    value: OptValue::Many(self.architectures.clone()),
                },
            );
        }
        if !self.signedby.is_empty() {
            opts.insert(
                "signedby".into(),
                Opt {
                    full: format!("signed-by={}", self.signedby),
                    value: OptValue::One(self.signedby.clone()),
                },
            );
        }
        let ordered: Vec<&str> = opts
            .values()
            .filter(|o| !o.full.is_empty())
            .map(|o| o.full.as_str())
            .collect();
        if !ordered.is_empty() {
            parts.push(format!("[{}]", ordered.join(" ")));
        }
        parts.push(self.uri.clone());
        parts.push(self.dist.clone());
        parts.push(self.comps.join(" "));
        if !self.comment.is_empty() {
            parts.push(format!("#{}", self.comment));
        }
        Ok(parts.join(" ") + "\n")
    }

    /// The entry as `list_repos`/`get_repo` report it.
    pub fn to_value(&self) -> Value {
        let strs = |v: &[String]| Value::List(v.iter().map(|s| Value::from(s.as_str())).collect());
        let mut m = Map::default();
        m.insert(Value::from("file"), Value::from(self.file.as_str()));
        m.insert(Value::from("comps"), strs(&self.comps));
        m.insert(Value::from("disabled"), Value::Bool(self.disabled));
        m.insert(Value::from("dist"), Value::from(self.dist.as_str()));
        m.insert(Value::from("type"), Value::from(self.type_.as_str()));
        m.insert(Value::from("uri"), Value::from(self.uri.as_str()));
        m.insert(Value::from("line"), Value::from(self.line.trim()));
        m.insert(Value::from("architectures"), strs(&self.architectures));
        m.insert(Value::from("signedby"), Value::from(self.signedby.as_str()));
        Value::Map(m)
    }
}

/// Salt's `SourcesList`: every line of the sources files.
#[derive(Debug, Clone, Default)]
pub struct SourcesList {
    pub list: Vec<SourceEntry>,
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            list_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "list") {
            out.push(p);
        }
    }
}

impl SourcesList {
    /// Read `/etc/apt/sources.list` and `/etc/apt/sources.list.d/**/*.list`.
    pub fn load() -> Result<SourcesList, PkgError> {
        Self::load_from(Path::new(BASE_FILE), Path::new(SOURCES_DIR))
    }

    fn load_from(base: &Path, dir: &Path) -> Result<SourcesList, PkgError> {
        let mut files = vec![base.to_path_buf()];
        list_files(dir, &mut files);
        let mut list = Vec::new();
        for f in files {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let fname = f.to_string_lossy().into_owned();
            for line in text.split_inclusive('\n') {
                list.push(SourceEntry::new(line, Some(&fname))?);
            }
        }
        Ok(SourcesList { list })
    }

    /// `add()`: a new entry with only the arch/signed-by options.
    pub fn add(
        type_: &str,
        uri: &str,
        dist: &str,
        comps: &[String],
        architectures: &[String],
        signedby: &str,
    ) -> Result<SourceEntry, PkgError> {
        let mut opts = Vec::new();
        if !architectures.is_empty() {
            opts.push(format!("arch={}", architectures.join(",")));
        }
        if !signedby.is_empty() {
            opts.push(format!("signed-by={signedby}"));
        }
        let opts_line = if opts.is_empty() {
            String::new()
        } else {
            format!("[{}]", opts.join(" "))
        };
        let parts = [
            type_.to_string(),
            opts_line,
            uri.to_string(),
            dist.to_string(),
            comps.join(" "),
        ];
        let line: Vec<&str> = parts
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(String::as_str)
            .collect();
        SourceEntry::new(&line.join(" "), None)
    }

    /// `save()`: write each file that still has entries.
    pub fn save(&self) -> Result<(), PkgError> {
        let mut files: IndexMap<String, String> = IndexMap::new();
        for s in &self.list {
            files
                .entry(s.file.clone())
                .or_default()
                .push_str(&s.repo_line()?);
        }
        for (f, text) in files {
            brine_core::fsutil::write_atomic(Path::new(&f), text.as_bytes(), Some(0o644))
                .map_err(|e| PkgError::exec(format!("Unable to write {f}: {e}")))?;
        }
        Ok(())
    }
}

/// `_split_repo_str`: the parsed parts of a repo line.
pub fn split_repo_str(repo: &str) -> Result<SourceEntry, PkgError> {
    SourceEntry::new(repo, None)
}

/// `list_repos`: uri -> entries.
pub fn list_repos() -> Result<Map, PkgError> {
    let sources = SourcesList::load()?;
    let mut repos = Map::default();
    for s in sources.list.iter().filter(|s| !s.invalid) {
        let key = Value::from(s.uri.as_str());
        let entry = repos.entry(key).or_insert_with(|| Value::List(vec![]));
        if let Value::List(l) = entry {
            l.push(s.to_value());
        }
    }
    Ok(repos)
}

/// `get_repo(repo)`: the configured entry matching the line, or `{}`.
pub fn get_repo(repo: &str) -> Result<Map, PkgError> {
    let sources = SourcesList::load()?;
    if sources.list.iter().all(|s| s.invalid) {
        return Ok(Map::default());
    }
    let want = split_repo_str(repo)?;
    for s in sources.list.iter().filter(|s| !s.invalid) {
        let same = s.type_ == want.type_
            && s.uri.trim_end_matches('/') == want.uri.trim_end_matches('/')
            && s.dist == want.dist;
        if same && (want.comps.is_empty() || want.comps.iter().any(|c| s.comps.contains(c))) {
            if let Value::Map(m) = s.to_value() {
                return Ok(m);
            }
        }
    }
    Ok(Map::default())
}

/// `del_repo(repo)`: the message Salt returns (one line per file).
pub fn del_repo(ctx: &Context, repo: &str) -> Result<String, PkgError> {
    let mut sources = SourcesList::load()?;
    if sources.list.iter().any(|s| !s.invalid) {
        let want = split_repo_str(repo)?;
        let mut deleted_from: IndexMap<String, usize> = IndexMap::new();
        let mut i = 0;
        while i < sources.list.len() {
            let s = &mut sources.list[i];
            if !s.invalid
                && s.type_ == want.type_
                && s.architectures == want.architectures
                && s.uri.trim_end_matches('/') == want.uri.trim_end_matches('/')
                && s.dist == want.dist
            {
                let s_comps: Vec<String> = s.comps.clone();
                let inter = s_comps.iter().any(|c| want.comps.contains(c));
                if inter || (s_comps.is_empty() && want.comps.is_empty()) {
                    deleted_from.insert(s.file.clone(), 0);
                    let mut left: Vec<String> = Vec::new();
                    for c in s_comps {
                        if !want.comps.contains(&c) && !left.contains(&c) {
                            left.push(c);
                        }
                    }
                    s.comps = left;
                    if s.comps.is_empty() {
                        sources.list.remove(i);
                        continue;
                    }
                }
            }
            i += 1;
        }
        sources.save()?;
        if !deleted_from.is_empty() {
            for s in &sources.list {
                if let Some(c) = deleted_from.get_mut(&s.file) {
                    *c += 1;
                }
            }
            let mut ret = String::new();
            for (file, count) in &deleted_from {
                if *count == 0 && file.contains("sources.list.d/") && Path::new(file).is_file() {
                    let _ = std::fs::remove_file(file);
                    ret.push_str(&format!(
                        "File {file} containing repo '{repo}' has been removed."
                    ));
                } else {
                    ret.push_str(&format!("Repo '{repo}' has been removed from {file}.\n"));
                }
            }
            refresh_db(ctx, 0, false)?;
            return Ok(ret);
        }
    }
    Err(PkgError::exec(format!(
        "Repo {repo} doesn't exist in the sources.list(s)"
    )))
}

/// `_decrypt_key`: an ASCII-armored key is dearmored next to itself.
fn decrypt_key(key: &Path) -> Result<PathBuf, PkgError> {
    let Ok(text) = std::fs::read_to_string(key) else {
        return Ok(key.to_path_buf());
    };
    if text.trim_start_matches('-').starts_with("BEGIN PGP") {
        if super::cmd::path_which("gpg").is_none() {
            return Err(PkgError::exec(format!(
                "Detected an ASCII armored key {} and the gpg binary is not available",
                key.display()
            )));
        }
        let out = PathBuf::from(format!("{}.decrypted", key.display()));
        let cmd = vec![
            "gpg".to_string(),
            "--yes".into(),
            "--output".into(),
            out.to_string_lossy().into_owned(),
            "--dearmor".into(),
            key.to_string_lossy().into_owned(),
        ];
        let r = run_cmd(&cmd, None)?;
        if r.retcode != 0 {
            tracing::error!("Failed to decrypt the key {}", key.display());
        }
        return Ok(out);
    }
    Ok(key.to_path_buf())
}

/// `cp.cache_file` for a key: a local path as is, else through `cp`.
fn cache_key(ctx: &Context, url: &str, saltenv: &str) -> Result<PathBuf, PkgError> {
    let local = url.strip_prefix("file://").unwrap_or(url);
    if local.starts_with('/') {
        return Ok(PathBuf::from(local));
    }
    let mut kw = Map::default();
    kw.insert(Value::from("saltenv"), Value::from(saltenv));
    match ctx.call_raw("cp.cache_file", vec![Value::from(url)], kw) {
        Ok(Value::Str(p)) if !p.is_empty() => Ok(PathBuf::from(p)),
        Ok(_) => Err(PkgError::exec(format!("Error: file not found: {url}"))),
        Err(e) => Err(PkgError::exec(e)),
    }
}

/// Arguments of `mod_repo` beyond the repo line.
pub type RepoKwargs = Map;

fn kw<'a>(kwargs: &'a Map, key: &str) -> Option<&'a Value> {
    kwargs.get(&Value::from(key))
}

/// `mod_repo(repo, saltenv, aptkey, **kwargs)`: add or modify the source;
/// returns `{repo: {architectures, comps, disabled, file, type, uri, line,
/// signedby}}`.
pub fn mod_repo(
    ctx: &Context,
    repo: &str,
    saltenv: &str,
    aptkey: bool,
    kwargs: &RepoKwargs,
) -> Result<Map, PkgError> {
    let refresh = match kw(kwargs, "refresh_db") {
        Some(v) => v.truthy(),
        None => kw(kwargs, "refresh").map(Value::truthy).unwrap_or(true),
    };
    let aptkey = aptkey && super::cmd::path_which("apt-key").is_some();
    if repo.starts_with("ppa:") {
        return Err(PkgError::exec(format!(
            "cannot parse \"ppa:\" style repo definitions: {repo}"
        )));
    }
    let mut sources = SourcesList::load()?;
    let repo_entry = split_repo_str(repo)?;
    if repo_entry.invalid {
        return Err(PkgError::Invocation(format!(
            "Name {repo} is not valid. This must be the complete repo entry as seen in the sources file"
        )));
    }
    let mut full_comps: Vec<String> = Vec::new();
    for c in &repo_entry.comps {
        let c = c.trim().to_string();
        if !full_comps.contains(&c) {
            full_comps.push(c);
        }
    }
    let signedby = repo_entry.signedby.clone();
    if !aptkey && signedby.is_empty() {
        return Err(PkgError::Invocation(
            "missing 'signedby' option when apt-key is missing".into(),
        ));
    }
    if kw(kwargs, "keyid").is_some() || kw(kwargs, "keyserver").is_some() {
        return Err(PkgError::exec(
            "keyid/keyserver (fetching keys from a keyserver) is not supported by Brine; use key_url or signed-by",
        ));
    } else if let Some(key_url) = kw(kwargs, "key_url").map(str_of) {
        let mut fn_ = cache_key(ctx, &key_url, saltenv)?;
        let sb_path = Path::new(&signedby);
        if !signedby.is_empty() && fn_.file_name() != sb_path.file_name() {
            // Salt renames the cached file; Brine copies, so a local source
            // file is left in place.
            if let Some(name) = sb_path.file_name() {
                let new_path = std::env::temp_dir()
                    .join(format!("brine-key-{}", std::process::id()))
                    .join(name);
                if let Some(d) = new_path.parent() {
                    let _ = std::fs::create_dir_all(d);
                }
                std::fs::copy(&fn_, &new_path).map_err(|e| {
                    PkgError::exec(format!("Error: Could not add key: {}: {e}", fn_.display()))
                })?;
                fn_ = new_path;
            }
        }
        if !aptkey {
            let keydir = if signedby.is_empty() {
                PathBuf::from("/etc/apt/keyrings")
            } else {
                sb_path.parent().map(Path::to_path_buf).unwrap_or_default()
            };
            if !keydir.is_dir() {
                tracing::error!(
                    "The directory {} does not exist. Please create this directory only writable by root",
                    keydir.display()
                );
                return Err(PkgError::exec(format!(
                    "Error: Could not add key: {}",
                    fn_.display()
                )));
            }
            let key = decrypt_key(&fn_)?;
            let mut keyfile = key
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(k) = keyfile.strip_suffix(".decrypted") {
                keyfile = k.to_string();
            }
            std::fs::copy(&key, keydir.join(&keyfile)).map_err(|e| {
                PkgError::exec(format!("Error: Could not add key: {}: {e}", fn_.display()))
            })?;
        } else {
            let cmd = vec![
                "apt-key".to_string(),
                "add".into(),
                fn_.to_string_lossy().into_owned(),
            ];
            let out = run_cmd(&cmd, None)?;
            if !out.stdout.to_uppercase().starts_with("OK") {
                return Err(PkgError::exec(format!(
                    "Error: failed to add key from {key_url}"
                )));
            }
        }
    } else if let Some(key_text) = kw(kwargs, "key_text").map(str_of) {
        let cmd = vec!["apt-key".to_string(), "add".into(), "-".into()];
        let out = run_cmd(&cmd, Some(&key_text))?;
        if !out.stdout.to_uppercase().starts_with("OK") {
            return Err(PkgError::exec(format!(
                "Error: failed to add key:\n{key_text}"
            )));
        }
    }
    let comps: Vec<String> = match kw(kwargs, "comps") {
        Some(c) => {
            let list: Vec<String> = str_of(c).split(',').map(|s| s.trim().to_string()).collect();
            for c in &list {
                if !full_comps.contains(c) {
                    full_comps.push(c.clone());
                }
            }
            list
        }
        None => full_comps.clone(),
    };
    let architectures: Vec<String> = match kw(kwargs, "architectures") {
        Some(a) => str_of(a).split(',').map(str::to_string).collect(),
        None => repo_entry.architectures.clone(),
    };
    let disabled = match (kw(kwargs, "disabled"), kw(kwargs, "enabled")) {
        (Some(d), _) => Some(is_true(d)),
        (None, Some(e)) => Some(!is_true(e)),
        _ => None,
    };
    let kw_type = kw(kwargs, "type").map(str_of);
    let kw_dist = kw(kwargs, "dist").map(str_of);
    let mut mod_idx: Option<usize> = None;
    for (i, s) in sources.list.iter().enumerate() {
        let repo_matches = s.type_ == repo_entry.type_
            && s.uri.trim_end_matches('/') == repo_entry.uri.trim_end_matches('/')
            && s.dist == repo_entry.dist;
        let kw_matches = Some(&s.dist) == kw_dist.as_ref() && Some(&s.type_) == kw_type.as_ref();
        if repo_matches || kw_matches {
            let mut found = full_comps.iter().any(|c| s.comps.contains(c));
            if s.comps.is_empty() || architectures != s.architectures {
                found = true;
            }
            if found {
                mod_idx = Some(i);
                break;
            }
        }
    }
    let comments = kw(kwargs, "comments").map(|c| match c {
        Value::List(l) => l
            .iter()
            .map(str_of)
            .collect::<Vec<_>>()
            .join(" ")
            .trim()
            .to_string(),
        other => str_of(other).trim().to_string(),
    });
    let idx = match mod_idx {
        Some(i) => i,
        None => {
            sources.list.push(SourceEntry::new(repo, None)?);
            sources.list.len() - 1
        }
    };
    let src = &mut sources.list[idx];
    if let Some(c) = comments {
        src.comment = c;
    }
    src.line = repo.to_string();
    if !src.line.ends_with('\n') {
        src.line.push('\n');
    }
    // The `_MODIFY_OK` keys: uri, comps, architectures, disabled, file,
    // dist, signedby.
    if let Some(u) = kw(kwargs, "uri") {
        src.uri = str_of(u);
    }
    src.comps = comps;
    src.architectures = architectures;
    if let Some(d) = disabled {
        src.disabled = d;
    }
    if let Some(f) = kw(kwargs, "file") {
        src.file = str_of(f);
    }
    if let Some(d) = kw_dist {
        src.dist = d;
    }
    src.signedby = signedby.clone();
    if src.uri != repo_entry.uri {
        src.uri = repo_entry.uri.clone();
        src.line = src.repo_line()?;
    }
    let src = src.clone();
    sources.save()?;
    if refresh {
        refresh_db(ctx, 0, false)?;
    }
    let strs = |v: &[String]| Value::List(v.iter().map(|s| Value::from(s.as_str())).collect());
    let mut m = Map::default();
    m.insert(Value::from("architectures"), strs(&src.architectures));
    m.insert(Value::from("comps"), strs(&src.comps));
    m.insert(Value::from("disabled"), Value::Bool(src.disabled));
    m.insert(Value::from("file"), Value::from(src.file.as_str()));
    m.insert(Value::from("type"), Value::from(src.type_.as_str()));
    m.insert(Value::from("uri"), Value::from(src.uri.as_str()));
    m.insert(Value::from("line"), Value::from(src.line.as_str()));
    m.insert(Value::from("signedby"), Value::from(signedby.as_str()));
    let mut ret = Map::default();
    ret.insert(Value::from(repo), Value::Map(m));
    Ok(ret)
}

/// `_expand_repo_def(repo=..., **kwargs)`: the normalised fields the
/// `pkgrepo.managed` state compares with the configured entry.
pub fn expand_repo_def(repo: &str, kwargs: &Map) -> Result<Map, PkgError> {
    let mut entry = SourceEntry::new(repo, None)?;
    let split = |k: &str| {
        kw(kwargs, k).map(|v| {
            str_of(v)
                .split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
    };
    if let Some(a) = split("architectures") {
        entry.architectures = a;
    }
    if let Some(c) = split("comps") {
        entry.comps = c;
    }
    if let Some(u) = kw(kwargs, "uri") {
        entry.uri = str_of(u);
    }
    if let Some(d) = kw(kwargs, "dist") {
        entry.dist = str_of(d);
    }
    if let Some(d) = kw(kwargs, "disabled") {
        entry.disabled = d.truthy();
    }
    if let Some(s) = kw(kwargs, "signedby") {
        entry.signedby = str_of(s);
    }
    // Salt reads the sources here too (and fails on a broken file).
    SourcesList::load()?;
    let mut added = SourcesList::add(
        &entry.type_,
        &entry.uri,
        &entry.dist,
        &entry.comps,
        &entry.architectures,
        &entry.signedby,
    )?;
    added.disabled = entry.disabled;
    added.line = added.repo_line()?;
    let strs = |v: &[String]| Value::List(v.iter().map(|s| Value::from(s.as_str())).collect());
    let mut m = Map::default();
    m.insert(Value::from("file"), Value::from(added.file.as_str()));
    m.insert(Value::from("comps"), strs(&added.comps));
    m.insert(Value::from("disabled"), Value::Bool(added.disabled));
    m.insert(Value::from("dist"), Value::from(added.dist.as_str()));
    m.insert(Value::from("type"), Value::from(added.type_.as_str()));
    m.insert(Value::from("uri"), Value::from(added.uri.as_str()));
    m.insert(Value::from("line"), Value::from(added.line.trim()));
    m.insert(Value::from("architectures"), strs(&added.architectures));
    m.insert(
        Value::from("signedby"),
        Value::from(entry.signedby.as_str()),
    );
    Ok(m)
}

/// `salt.utils.pkg.deb.strip_uri`.
pub fn strip_uri(repo: &str) -> String {
    repo.split_whitespace()
        .map(|v| {
            if ["http://", "https://", "ftp://"]
                .iter()
                .any(|p| v.starts_with(p))
            {
                v.trim_end_matches('/')
            } else {
                v
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn fn_list_repos(_: &Context, _args: Vec<Value>, _kwargs: Map) -> Result<Value, String> {
    list_repos().map(Value::Map).map_err(PkgError::into_mod_err)
}

fn fn_get_repo(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("pkg.get_repo", &["repo"], 1, false, true, args, kwargs)?;
    get_repo(&b.str(0).unwrap_or_default())
        .map(Value::Map)
        .map_err(PkgError::into_mod_err)
}

fn fn_del_repo(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("pkg.del_repo", &["repo"], 1, false, true, args, kwargs)?;
    del_repo(ctx, &b.str(0).unwrap_or_default())
        .map(Value::from)
        .map_err(PkgError::into_mod_err)
}

fn fn_mod_repo(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pkg.mod_repo",
        &["repo", "saltenv", "aptkey"],
        1,
        false,
        true,
        args,
        kwargs,
    )?;
    let saltenv = b.str(1).unwrap_or_else(|| "base".into());
    let aptkey = b.opt(2).map(Value::truthy).unwrap_or(true);
    if b.str(0).is_none() {
        return Err(invocation_error("missing 'repo' argument"));
    }
    mod_repo(
        ctx,
        &b.str(0).unwrap_or_default(),
        &saltenv,
        aptkey,
        &b.kwargs,
    )
    .map(Value::Map)
    .map_err(PkgError::into_mod_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_entry_round_trip() {
        let e = SourceEntry::new("deb [trusted=yes] file:/tmp/r ./\n", Some("/x.list")).unwrap();
        assert!(!e.invalid);
        assert_eq!(
            (e.type_.as_str(), e.uri.as_str(), e.dist.as_str()),
            ("deb", "file:/tmp/r", "./")
        );
        assert!(e.comps.is_empty());
        // Salt writes an empty component list as a trailing space.
        assert_eq!(
            e.repo_line().unwrap(),
            "deb [trusted=yes] file:/tmp/r ./ \n"
        );
        let e = SourceEntry::new(
            "# deb [arch=amd64,i386 signed-by=/k.gpg] http://x/debian bookworm main contrib # note\n",
            None,
        )
        .unwrap();
        assert!(e.disabled);
        assert_eq!(e.architectures, vec!["amd64", "i386"]);
        assert_eq!(e.signedby, "/k.gpg");
        assert_eq!(e.comps, vec!["main", "contrib"]);
        assert_eq!(e.comment, " note");
        assert_eq!(
            e.repo_line().unwrap(),
            "# deb [arch=amd64,i386 signed-by=/k.gpg] http://x/debian bookworm main contrib # note\n"
        );
        assert!(SourceEntry::new("\n", None).unwrap().invalid);
        assert!(SourceEntry::new("foo bar baz\n", None).unwrap().invalid);
    }

    #[test]
    fn expanded_line_keeps_only_arch_and_signed_by() {
        let e = SourcesList::add("deb", "file:/r", "./", &[], &[], "/k.gpg").unwrap();
        assert_eq!(
            e.repo_line().unwrap(),
            "deb [signed-by=/k.gpg] file:/r ./ \n"
        );
        assert_eq!(strip_uri("deb http://a/b/ x main"), "deb http://a/b x main");
    }
}
