//! `pkg` execution functions for Debian (salt/modules/aptpkg.py, with the
//! `pkg_resource` and dpkg helpers it leans on): list_pkgs, version,
//! latest_version/available_version, install, remove, purge, hold, unhold,
//! refresh_db, upgrade_available, list_repo_pkgs, get_selections,
//! set_selections, normalize_name, version_cmp. The apt sources functions
//! (list_repos, get_repo, mod_repo, del_repo) live in `pkg_repo.rs`.
//!
//! apt and dpkg run as Salt runs them: the same argument lists, the C
//! locale, `DEBIAN_FRONTEND=noninteractive` & co, and the retry while the
//! dpkg lock is held. The Rust functions are public so the `pkg` and
//! `pkgrepo` states call them directly; errors keep Salt's
//! `CommandExecutionError(message, info)` shape ([`PkgError`]).

use super::{bind, invocation_error, is_true, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use indexmap::IndexMap;
use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("list_pkgs", fn_list_pkgs),
    ("version", fn_version),
    ("latest_version", fn_latest_version),
    ("available_version", fn_latest_version),
    ("refresh_db", fn_refresh_db),
    ("install", fn_install),
    ("remove", fn_remove),
    ("purge", fn_purge),
    ("hold", fn_hold),
    ("unhold", fn_unhold),
    ("upgrade_available", fn_upgrade_available),
    ("version_cmp", fn_version_cmp),
    ("list_repo_pkgs", fn_list_repo_pkgs),
    ("get_selections", fn_get_selections),
    ("set_selections", fn_set_selections),
    ("normalize_name", fn_normalize_name),
    ("parse_arch", fn_parse_arch),
];

/// `DPKG_ENV_VARS`: exported for every apt/dpkg command.
pub const DPKG_ENV_VARS: &[(&str, &str)] = &[
    ("APT_LISTBUGS_FRONTEND", "none"),
    ("APT_LISTCHANGES_FRONTEND", "none"),
    ("DEBIAN_FRONTEND", "noninteractive"),
    ("UCF_FORCE_CONFFOLD", "1"),
];

/// The locale variables `cmd.run_all` resets to `C`.
const LOCALE_VARS: &[&str] = &[
    "LC_CTYPE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
    "LC_MONETARY",
    "LC_MESSAGES",
    "LC_PAPER",
    "LC_NAME",
    "LC_ADDRESS",
    "LC_TELEPHONE",
    "LC_MEASUREMENT",
    "LC_IDENTIFICATION",
    "LANGUAGE",
];

/// `APT_LISTS_PATH`.
const APT_LISTS_PATH: &str = "/var/lib/apt/lists";

/// An error of the pkg module.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PkgError {
    /// `CommandExecutionError(message, info=...)`.
    #[error("{}", .0.strerror())]
    Exec(ExecError),
    /// `SaltInvocationError`.
    #[error("{0}")]
    Invocation(String),
}

/// Salt's `CommandExecutionError`: a message and an optional info dict.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecError {
    pub message: String,
    pub info: Option<Map>,
}

impl ExecError {
    fn prefix(&self) -> String {
        let mut p = self.message.clone();
        if !p.is_empty() {
            if !p.ends_with(['.', '?', '!']) {
                p.push('.');
            }
            p.push(' ');
        }
        p.push_str("Additional info follows:\n\n");
        p
    }

    /// `str(exc)`: the message, then the info in the nested outputter.
    pub fn strerror(&self) -> String {
        match &self.info {
            Some(info) if !info.is_empty() => {
                format!("{}{}", self.prefix(), nested(&Value::Map(info.clone())))
            }
            _ => self.message.clone(),
        }
    }

    /// `exc.strerror_without_changes`, what pkg states put in the comment.
    pub fn strerror_without_changes(&self) -> String {
        match &self.info {
            Some(info) if !info.is_empty() => {
                let mut rest = info.clone();
                rest.shift_remove(&Value::from("changes"));
                if rest.is_empty() {
                    self.message.clone()
                } else {
                    format!("{}{}", self.prefix(), nested(&Value::Map(rest)))
                }
            }
            _ => self.message.clone(),
        }
    }

    /// `exc.info["changes"]`, or `{}`.
    pub fn changes(&self) -> Map {
        self.info
            .as_ref()
            .and_then(|i| i.get(&Value::from("changes")))
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default()
    }
}

impl PkgError {
    pub fn exec(msg: impl Into<String>) -> PkgError {
        PkgError::Exec(ExecError {
            message: msg.into(),
            info: None,
        })
    }

    /// The text Salt shows for the exception (`str(exc)`).
    pub fn strerror(&self) -> String {
        self.to_string()
    }

    /// The error as a [`ModFn`] error string.
    pub fn into_mod_err(self) -> String {
        match self {
            PkgError::Exec(e) => e.strerror(),
            PkgError::Invocation(m) => invocation_error(m),
        }
    }
}

/// The nested outputter without colour, right-stripped (`_nested_output`).
pub fn nested(v: &Value) -> String {
    let opts = brine_core::output::nested::NestedOptions::default();
    brine_core::output::nested::output(v, &opts)
        .trim_end()
        .to_string()
}

/// One command's result (`cmd.run_all`).
#[derive(Debug, Clone, Default)]
pub struct CmdOut {
    pub retcode: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `argv` as `cmd.run_all(python_shell=False)` does, with the dpkg
/// environment; `Err` when it cannot start.
pub fn run_cmd(argv: &[String], stdin: Option<&str>) -> Result<CmdOut, PkgError> {
    let Some((prog, rest)) = argv.split_first() else {
        return Err(PkgError::exec("Unable to run an empty command"));
    };
    let mut command = Command::new(prog);
    command.args(rest);
    for v in LOCALE_VARS {
        command.env(v, "C");
    }
    for (k, v) in DPKG_ENV_VARS {
        command.env(k, v);
    }
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| {
        PkgError::exec(format!(
            "Unable to run command '{}' with the context '{{'cwd': '/', 'shell': False}}', reason: {e}",
            argv.join(" ")
        ))
    })?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_string();
        std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    let out = child
        .wait_with_output()
        .map_err(|e| PkgError::exec(format!("Unable to wait for '{prog}': {e}")))?;
    let retcode = out.status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        out.status.signal().map(|s| -s).unwrap_or(1)
    });
    let rstrip = |b: &[u8]| String::from_utf8_lossy(b).trim_end().to_string();
    Ok(CmdOut {
        retcode,
        stdout: rstrip(&out.stdout),
        stderr: rstrip(&out.stderr),
    })
}

/// `_call_apt`: run an apt utility (under `systemd-run --scope` when
/// systemd is running and `scope`), retrying while the dpkg lock is held.
pub fn call_apt(
    ctx: &Context,
    args: &[String],
    scope: bool,
    stdin: Option<&str>,
) -> Result<CmdOut, PkgError> {
    let mut cmd: Vec<String> = Vec::new();
    let scope_cfg = ctx
        .opts
        .get("systemd.scope")
        .map(|v| v.truthy())
        .unwrap_or(true);
    if scope && scope_cfg && std::path::Path::new("/run/systemd/system").is_dir() {
        cmd.extend(
            [
                "systemd-run",
                "--scope",
                "--description",
                "\"salt.loaded.int.module.aptpkg\"",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
    }
    cmd.extend(args.iter().cloned());
    let mut ret = run_cmd(&cmd, stdin)?;
    let mut count = 0;
    while ret.stderr.contains("Could not get lock") && count < 10 {
        count += 1;
        tracing::warn!("Waiting for dpkg lock release: retrying... {}/100", count);
        std::thread::sleep(std::time::Duration::from_secs(1u64 << count));
        ret = run_cmd(&cmd, stdin)?;
    }
    Ok(ret)
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Package name -> versions (Salt's `versions_as_list=True` shape).
pub type PkgVersions = IndexMap<String, Vec<String>>;

/// The three lists `list_pkgs` builds from `dpkg-query`.
#[derive(Debug, Clone, Default)]
pub struct PkgDb {
    pub installed: PkgVersions,
    pub removed: PkgVersions,
    pub purge_desired: PkgVersions,
}

fn grain(ctx: &Context, key: &str) -> String {
    ctx.grains().get(key).map(str_of).unwrap_or_default()
}

/// Read the dpkg database (the body of `list_pkgs`).
pub fn pkg_db(ctx: &Context) -> Result<PkgDb, PkgError> {
    let cmd = strs(&[
        "dpkg-query",
        "--showformat",
        "${Status} ${Package} ${Version} ${Architecture}\n",
        "-W",
    ]);
    let out = run_cmd(&cmd, None)?;
    let cpuarch = grain(ctx, "cpuarch");
    let osarch = grain(ctx, "osarch");
    let mut db = PkgDb::default();
    for line in out.stdout.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 6 {
            continue;
        }
        let (linetype, status, version, arch) = (cols[0], cols[2], cols[4], cols[5]);
        let mut name = cols[3].to_string();
        if cpuarch == "x86_64" && arch != "all" && osarch == "amd64" && osarch != arch {
            name = format!("{name}:{arch}");
        }
        let list = if (linetype.contains("install") || linetype.contains("hold"))
            && status.contains("installed")
        {
            Some(&mut db.installed)
        } else if linetype.contains("deinstall") {
            Some(&mut db.removed)
        } else if linetype.contains("purge") && status == "installed" {
            Some(&mut db.purge_desired)
        } else {
            None
        };
        if let Some(l) = list {
            l.entry(name).or_default().push(version.to_string());
        }
    }
    for l in [&mut db.installed, &mut db.removed, &mut db.purge_desired] {
        for v in l.values_mut() {
            v.sort();
            v.dedup();
        }
    }
    Ok(db)
}

/// `list_pkgs(versions_as_list=True, removed=..., purge_desired=...)`.
pub fn list_pkgs(
    ctx: &Context,
    removed: bool,
    purge_desired: bool,
) -> Result<PkgVersions, PkgError> {
    let db = pkg_db(ctx)?;
    if removed {
        return Ok(db.removed);
    }
    let mut ret = db.purge_desired;
    if !purge_desired {
        for (k, v) in db.installed {
            ret.insert(k, v);
        }
    }
    Ok(ret)
}

/// `pkg_resource.stringify`: versions joined with commas.
pub fn stringify(pkgs: &PkgVersions) -> IndexMap<String, String> {
    pkgs.iter().map(|(k, v)| (k.clone(), v.join(","))).collect()
}

fn versions_value(pkgs: &PkgVersions, as_list: bool) -> Value {
    let mut m = Map::default();
    for (k, v) in pkgs {
        let val = if as_list {
            Value::List(v.iter().map(|s| Value::from(s.as_str())).collect())
        } else {
            Value::from(v.join(","))
        };
        m.insert(Value::from(k.as_str()), val);
    }
    Value::Map(m)
}

/// `normalize_name`: drop the architecture suffix when it is the OS's.
pub fn normalize_name(ctx: &Context, name: &str) -> String {
    let osarch = grain(ctx, "osarch");
    let (pkgname, arch) = match name.rsplit_once(':') {
        Some((n, a)) => (n, a.to_string()),
        None => (name, osarch.clone()),
    };
    if arch == osarch || arch == "all" || arch == "any" {
        pkgname.to_string()
    } else {
        name.to_string()
    }
}

/// `salt.utils.pkg.clear_rtag`.
pub fn clear_rtag(ctx: &Context) {
    let _ = std::fs::remove_file(rtag_path(ctx));
}

/// `salt.utils.pkg.rtag`: `<cachedir>/pkg_refresh`.
pub fn rtag_path(ctx: &Context) -> std::path::PathBuf {
    let cachedir = ctx
        .opts
        .get("cachedir")
        .and_then(Value::as_str)
        .unwrap_or("/var/cache/salt/minion");
    std::path::Path::new(cachedir).join("pkg_refresh")
}

/// `refresh_db`: `apt-get -q update`, each source's result (True fetched,
/// None hit, False ignored/failed).
pub fn refresh_db(ctx: &Context, cache_valid_time: i64, failhard: bool) -> Result<Map, PkgError> {
    clear_rtag(ctx);
    let mut ret = Map::default();
    if cache_valid_time > 0 {
        if let Ok(meta) = std::fs::metadata(APT_LISTS_PATH) {
            if let Ok(age) = meta.modified().map(|m| m.elapsed().unwrap_or_default()) {
                if age.as_secs_f64() < cache_valid_time as f64 {
                    return Ok(ret);
                }
            }
        }
    }
    let call = call_apt(ctx, &strs(&["apt-get", "-q", "update"]), false, None)?;
    if call.retcode != 0 {
        return Err(PkgError::exec(call.stderr));
    }
    let size = regex::Regex::new(r" \[.+B\]$").expect("static regex");
    let mut error_repos = Vec::new();
    for line in call.stdout.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = cols.first() else { continue };
        let ident = cols[1..].join(" ");
        if first.contains("Get") {
            let ident = size.replace(&ident, "").into_owned();
            ret.insert(Value::from(ident), Value::Bool(true));
        } else if first.contains("Ign") {
            ret.insert(Value::from(ident), Value::Bool(false));
        } else if first.contains("Hit") {
            ret.insert(Value::from(ident), Value::Null);
        } else if first.contains("Err") {
            ret.insert(Value::from(ident.clone()), Value::Bool(false));
            error_repos.push(ident);
        }
    }
    if failhard && !error_repos.is_empty() {
        return Err(PkgError::exec(format!(
            "Error getting repos: {}",
            error_repos.join(", ")
        )));
    }
    Ok(ret)
}

/// Options of `latest_version`.
#[derive(Debug, Clone, Default)]
pub struct LatestOpts {
    pub refresh: bool,
    pub show_installed: bool,
    pub fromrepo: Option<String>,
    pub cache_valid_time: i64,
}

/// What `latest_version` returns: the dict, or the one string Salt
/// returns when a single name is left.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latest {
    pub versions: IndexMap<String, String>,
    pub single: Option<String>,
}

impl Latest {
    /// The return as Salt gives it (a string or a dict).
    pub fn to_value(&self) -> Value {
        match &self.single {
            Some(s) => Value::from(s.as_str()),
            None => {
                let mut m = Map::default();
                for (k, v) in &self.versions {
                    m.insert(Value::from(k.as_str()), Value::from(v.as_str()));
                }
                Value::Map(m)
            }
        }
    }
}

/// `latest_version(*names)`: name -> candidate version, "" when none or
/// already installed (unless `show_installed`).
pub fn latest_version(ctx: &Context, names: &[String], o: &LatestOpts) -> Result<Latest, PkgError> {
    let mut ret: IndexMap<String, String> =
        names.iter().map(|n| (n.clone(), String::new())).collect();
    if names.is_empty() {
        return Ok(Latest {
            versions: ret,
            single: Some(String::new()),
        });
    }
    let pkgs = list_pkgs(ctx, false, false)?;
    if o.refresh {
        refresh_db(ctx, o.cache_valid_time, false)?;
    }
    let mut cmd = strs(&["apt-cache", "-q", "policy"]);
    cmd.extend(names.iter().cloned());
    if let Some(r) = &o.fromrepo {
        cmd.push("-o".into());
        cmd.push(format!("APT::Default-Release={r}"));
    }
    let out = call_apt(ctx, &cmd, false, None)?;
    let short: Vec<&str> = names
        .iter()
        .map(|n| n.split(':').next().unwrap_or(n))
        .collect();
    let mut candidates: IndexMap<String, String> = IndexMap::new();
    let mut this_pkg = String::new();
    for line in out.stdout.split('\n') {
        let line = line.trim();
        if line.ends_with(':') && !line.starts_with("Version table") {
            let head = &line[..line.len() - 1];
            if names.iter().any(|n| n == head)
                || short.contains(&head.split(':').next().unwrap_or(head))
            {
                this_pkg = head.to_string();
            }
        } else if line.starts_with("Candidate") {
            let comps: Vec<&str> = line.split_whitespace().collect();
            let mut candidate = String::new();
            if comps.len() >= 2 {
                candidate = comps[comps.len() - 1].to_string();
                if candidate.eq_ignore_ascii_case("(none)") {
                    candidate.clear();
                }
            }
            candidates.insert(this_pkg.clone(), candidate);
        }
    }
    let mut names: Vec<String> = names.to_vec();
    loop {
        let mut extensions = Vec::new();
        let mut pops = Vec::new();
        for name in &names {
            if !candidates.contains_key(name) {
                extensions.extend(
                    candidates
                        .keys()
                        .filter(|k| k.starts_with(&format!("{name}:")))
                        .cloned(),
                );
                pops.push(name.clone());
            }
            let installed = pkgs.get(name).cloned().unwrap_or_default();
            let cand = candidates.get(name).cloned().unwrap_or_default();
            let newer =
                !cand.is_empty() && !installed.iter().any(|x| compare(x, ">=", &cand, false));
            if installed.is_empty() || o.show_installed || newer {
                ret.insert(name.clone(), cand);
            }
        }
        if extensions.is_empty() && pops.is_empty() {
            break;
        }
        names.extend(extensions);
        for p in pops {
            if let Some(i) = names.iter().position(|n| *n == p) {
                names.remove(i);
            }
        }
    }
    // A name without candidates was dropped from `names`: then the
    // return is the dict, even for one requested name.
    let single = (names.len() == 1).then(|| ret.get(&names[0]).cloned().unwrap_or_default());
    Ok(Latest {
        versions: ret,
        single,
    })
}

/// `list_repo_pkgs(*args)`: package -> versions `apt-cache show` lists.
pub fn list_repo_pkgs(ctx: &Context, args: &[String]) -> Result<PkgVersions, PkgError> {
    let cmd: Vec<String> = if args.is_empty() {
        strs(&["apt-cache", "dump"])
    } else {
        let mut c = strs(&["apt-cache", "show"]);
        c.extend(args.iter().cloned());
        c
    };
    let out = call_apt(ctx, &cmd, false, None)?;
    let mut ret = PkgVersions::new();
    let mut pkg_name: Option<String> = None;
    for line in out.stdout.split('\n') {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(p) = line.strip_prefix("Package: ") {
            if !p.is_empty() && pkg_name.as_deref() != Some(p) {
                pkg_name = Some(p.to_string());
                continue;
            }
        }
        let mut comps = line.trim().splitn(2, char::is_whitespace);
        if comps.next() == Some("Version:") {
            if let (Some(v), Some(p)) = (comps.next(), &pkg_name) {
                ret.entry(p.clone())
                    .or_default()
                    .push(v.trim_start().to_string());
            }
        }
    }
    Ok(ret)
}

/// `pkg_resource.parse_targets` for repository packages: name -> version.
pub fn parse_targets(
    ctx: &Context,
    name: Option<&str>,
    pkgs: Option<&[Value]>,
    version: Option<String>,
    normalize: bool,
) -> Result<Option<IndexMap<String, Option<String>>>, PkgError> {
    if let Some(pkgs) = pkgs.filter(|p| !p.is_empty()) {
        let packed = repack_pkgs(ctx, pkgs, normalize)?;
        return Ok(if packed.is_empty() {
            None
        } else {
            Some(packed)
        });
    }
    match name.filter(|n| !n.is_empty()) {
        Some(name) => Ok(Some(
            name.split(',')
                .map(|x| {
                    let n = if normalize {
                        normalize_name(ctx, x)
                    } else {
                        x.to_string()
                    };
                    (n, version.clone())
                })
                .collect(),
        )),
        None => Ok(None),
    }
}

/// `_repack_pkgs`: a `pkgs` list (names, or one-key maps name: version)
/// into name -> version.
pub fn repack_pkgs(
    ctx: &Context,
    pkgs: &[Value],
    normalize: bool,
) -> Result<IndexMap<String, Option<String>>, PkgError> {
    let mut out = IndexMap::new();
    for p in pkgs {
        match p {
            Value::Map(m) => {
                for (k, v) in m {
                    let n = str_of(k);
                    let n = if normalize {
                        normalize_name(ctx, &n)
                    } else {
                        n
                    };
                    out.insert(n, if v.is_null() { None } else { Some(str_of(v)) });
                }
            }
            Value::List(_) | Value::Null => {}
            other => {
                let n = str_of(other);
                let n = if normalize {
                    normalize_name(ctx, &n)
                } else {
                    n
                };
                out.insert(n, None);
            }
        }
    }
    if pkgs.len() != out.len() {
        return Err(PkgError::Invocation(format!(
            "You are passing a list of packages that contains duplicated packages names: {}. This cannot be processed. In case you are targeting different versions of the same package, please target them individually",
            brine_core::output::pyrepr::repr(&Value::List(pkgs.to_vec()))
        )));
    }
    Ok(out)
}

/// `salt.utils.data.compare_dicts` over stringified package lists (keys
/// sorted; Python's order is a set's).
pub fn compare_dicts(old: &IndexMap<String, String>, new: &IndexMap<String, String>) -> Map {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut ret = Map::default();
    for k in keys {
        let change = match (old.get(k), new.get(k)) {
            (None, Some(n)) => Some(("", n.as_str(), true)),
            (Some(o), None) => Some((o.as_str(), "", false)),
            (Some(o), Some(n)) if o != n => Some((o.as_str(), n.as_str(), true)),
            _ => None,
        };
        if let Some((o, n, old_first)) = change {
            let mut m = Map::default();
            if old_first {
                m.insert(Value::from("old"), Value::from(o));
                m.insert(Value::from("new"), Value::from(n));
            } else {
                m.insert(Value::from("new"), Value::from(n));
                m.insert(Value::from("old"), Value::from(o));
            }
            ret.insert(Value::from(k.as_str()), Value::Map(m));
        }
    }
    ret
}

/// `salt.utils.pkg.split_comparison`: `(operator, version)`.
pub fn split_comparison(version: &str) -> (String, String) {
    let re =
        regex::Regex::new(r"^(<=>|!=|>=|<=|>>|<<|<>|>|<|=)?\s?([^<>=]+)$").expect("static regex");
    match re.captures(version) {
        Some(c) => (
            c.get(1).map(|m| m.as_str().to_string()).unwrap_or_default(),
            c.get(2).map(|m| m.as_str().to_string()).unwrap_or_default(),
        ),
        None => (String::new(), version.to_string()),
    }
}

/// `salt.utils.versions.compare` with `pkg.version_cmp`.
pub fn compare(ver1: &str, oper: &str, ver2: &str, ignore_epoch: bool) -> bool {
    let Some(c) = version_cmp(ver1, ver2, ignore_epoch) else {
        return false;
    };
    match oper {
        "!=" => c != 0,
        "<" => c == -1,
        "<=" => c <= 0,
        "==" => c == 0,
        ">=" => c >= 0,
        ">" => c == 1,
        _ => {
            tracing::error!("Invalid operator '{}' for version comparison", oper);
            false
        }
    }
}

/// `salt.utils.pkg.match_version`: the first of `available` satisfying
/// `desired` (an optional operator and a version).
pub fn match_version(desired: &str, available: &[String], ignore_epoch: bool) -> Option<String> {
    let (oper, version) = split_comparison(desired);
    let oper = if oper.is_empty() {
        "==".to_string()
    } else {
        oper
    };
    available
        .iter()
        .find(|c| compare(c, &oper, &version, ignore_epoch))
        .cloned()
}

/// A parsed Debian version (dpkg's `parseversion`).
struct DebVersion<'a> {
    epoch: u64,
    upstream: &'a str,
    revision: &'a str,
}

/// dpkg's `parseversion`; `None` where dpkg reports an error (not just a
/// warning), which makes `dpkg --compare-versions` fail.
fn parse_version(s: &str) -> Option<DebVersion<'_>> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if s.is_empty() {
        return Some(DebVersion {
            epoch: 0,
            upstream: "",
            revision: "",
        });
    }
    if s.contains(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let (epoch, rest) = match s.split_once(':') {
        Some((e, rest)) => {
            if e.is_empty() || !e.chars().all(|c| c.is_ascii_digit()) || rest.is_empty() {
                return None;
            }
            (
                e.parse::<u64>().ok().filter(|e| *e <= i32::MAX as u64)?,
                rest,
            )
        }
        None => (0, s),
    };
    let (upstream, revision) = match rest.rfind('-') {
        Some(i) => {
            let (u, r) = (&rest[..i], &rest[i + 1..]);
            if r.is_empty() || u.is_empty() {
                return None;
            }
            (u, r)
        }
        None => (rest, ""),
    };
    Some(DebVersion {
        epoch,
        upstream,
        revision,
    })
}

fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => c as i32 + 256,
    }
}

/// dpkg's `verrevcmp`.
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = a[i] as i32 - b[j] as i32;
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

/// `version_cmp`: -1, 0 or 1 as `dpkg --compare-versions` orders the two
/// versions; `None` when dpkg rejects one of them.
pub fn version_cmp(pkg1: &str, pkg2: &str, ignore_epoch: bool) -> Option<i32> {
    let norm = |x: &str| -> String {
        if ignore_epoch {
            x.split_once(':').map(|(_, r)| r).unwrap_or(x).to_string()
        } else {
            x.to_string()
        }
    };
    let (p1, p2) = (norm(pkg1), norm(pkg2));
    let a = parse_version(&p1)?;
    let b = parse_version(&p2)?;
    let ord = a
        .epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream, b.upstream))
        .then_with(|| verrevcmp(a.revision, b.revision));
    Some(match ord {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

/// `get_selections(pattern, state)`: dpkg selection state -> packages.
pub fn get_selections(
    pattern: Option<&str>,
    state: Option<&str>,
) -> Result<IndexMap<String, Vec<String>>, PkgError> {
    let cmd = vec![
        "dpkg".to_string(),
        "--get-selections".to_string(),
        pattern.filter(|p| !p.is_empty()).unwrap_or("*").to_string(),
    ];
    let out = run_cmd(&cmd, None)?;
    let mut ret: IndexMap<String, Vec<String>> = IndexMap::new();
    for line in out.stdout.split('\n') {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let [pkg, st] = parts[..] {
            ret.entry(st.to_string()).or_default().push(pkg.to_string());
        }
    }
    if let Some(s) = state {
        let v = ret.get(s).cloned().unwrap_or_default();
        let mut one = IndexMap::new();
        one.insert(s.to_string(), v);
        return Ok(one);
    }
    Ok(ret)
}

/// `set_selections(selection=...)`: package -> {old, new} for each change.
pub fn set_selections(
    ctx: &Context,
    selection: &IndexMap<String, Vec<String>>,
    test: bool,
) -> Result<Map, PkgError> {
    let valid = ["install", "hold", "deinstall", "purge"];
    let bad: Vec<&str> = selection
        .keys()
        .filter(|k| !valid.contains(&k.as_str()))
        .map(String::as_str)
        .collect();
    if !bad.is_empty() {
        return Err(PkgError::Invocation(format!(
            "Invalid state(s): {}",
            bad.join(", ")
        )));
    }
    let mut revmap: IndexMap<String, String> = IndexMap::new();
    for (st, pkgs) in get_selections(None, None)? {
        for p in pkgs {
            revmap.insert(p, st.clone());
        }
    }
    let mut ret = Map::default();
    for (st, pkgs) in selection {
        for p in pkgs {
            if revmap.get(p) == Some(st) {
                continue;
            }
            if test {
                continue;
            }
            let input = format!("{p} {st}");
            let r = call_apt(
                ctx,
                &strs(&["dpkg", "--set-selections"]),
                false,
                Some(&input),
            )?;
            if r.retcode != 0 {
                tracing::error!("failed to set state {} for package {}", st, p);
            } else {
                let mut m = Map::default();
                m.insert(
                    Value::from("old"),
                    revmap
                        .get(p)
                        .map(|s| Value::from(s.as_str()))
                        .unwrap_or(Value::Null),
                );
                m.insert(Value::from("new"), Value::from(st.as_str()));
                ret.insert(Value::from(p.as_str()), Value::Map(m));
            }
        }
    }
    Ok(ret)
}

fn hold_targets(name: Option<&str>, pkgs: Option<&[Value]>) -> Result<Vec<String>, PkgError> {
    let pkgs = pkgs.filter(|p| !p.is_empty());
    if name.is_none_or(str::is_empty) && pkgs.is_none() {
        return Err(PkgError::Invocation(
            "One of name, pkgs, or sources must be specified.".into(),
        ));
    }
    Ok(match pkgs {
        Some(p) => p
            .iter()
            .map(|t| match t {
                Value::Map(m) => m.keys().next().map(str_of).unwrap_or_default(),
                other => str_of(other),
            })
            .collect(),
        None => vec![name.unwrap_or_default().to_string()],
    })
}

fn hold_entry(target: &str, result: Option<bool>, changes: Value, comment: String) -> Value {
    let mut m = Map::default();
    m.insert(Value::from("name"), Value::from(target));
    m.insert(Value::from("changes"), changes);
    m.insert(
        Value::from("result"),
        result.map(Value::Bool).unwrap_or(Value::Null),
    );
    m.insert(Value::from("comment"), Value::from(comment));
    Value::Map(m)
}

/// `hold` (`hold=true`) or `unhold`: per target `{name, changes, result,
/// comment}`.
pub fn hold_unhold(
    ctx: &Context,
    hold: bool,
    name: Option<&str>,
    pkgs: Option<&[Value]>,
    test: bool,
) -> Result<Map, PkgError> {
    let targets = hold_targets(name, pkgs)?;
    let mut ret = Map::default();
    for target in targets {
        let entry = if hold {
            let state = get_selections(Some(&target), Some("hold"))?;
            let held = state.get("hold").is_some_and(|v| !v.is_empty());
            if !held {
                if test {
                    hold_entry(
                        &target,
                        None,
                        Value::map(),
                        format!("Package {target} is set to be held."),
                    )
                } else {
                    let mut sel = IndexMap::new();
                    sel.insert("hold".to_string(), vec![target.clone()]);
                    let r = set_selections(ctx, &sel, false)?;
                    let ch = r
                        .get(&Value::from(target.as_str()))
                        .cloned()
                        .unwrap_or(Value::map());
                    hold_entry(
                        &target,
                        Some(true),
                        ch,
                        format!("Package {target} is now being held."),
                    )
                }
            } else {
                hold_entry(
                    &target,
                    Some(true),
                    Value::map(),
                    format!("Package {target} is already set to be held."),
                )
            }
        } else {
            let state = get_selections(Some(&target), None)?;
            if state.is_empty() {
                hold_entry(
                    &target,
                    Some(false),
                    Value::map(),
                    format!("Package {target} does not have a state."),
                )
            } else if state.get("hold").is_some_and(|v| !v.is_empty()) {
                if test {
                    hold_entry(
                        &target,
                        None,
                        Value::map(),
                        format!("Package {target} is set not to be held."),
                    )
                } else {
                    let mut sel = IndexMap::new();
                    sel.insert("install".to_string(), vec![target.clone()]);
                    let r = set_selections(ctx, &sel, false)?;
                    let ch = r
                        .get(&Value::from(target.as_str()))
                        .cloned()
                        .unwrap_or(Value::map());
                    hold_entry(
                        &target,
                        Some(true),
                        ch,
                        format!("Package {target} is no longer being held."),
                    )
                }
            } else {
                hold_entry(
                    &target,
                    Some(true),
                    Value::map(),
                    format!("Package {target} is already set not to be held."),
                )
            }
        };
        ret.insert(Value::from(target.as_str()), entry);
    }
    Ok(ret)
}

/// Arguments of `install` (the subset Brine supports).
#[derive(Debug, Clone, Default)]
pub struct InstallOpts {
    pub name: Option<String>,
    pub refresh: bool,
    pub fromrepo: Option<String>,
    pub skip_verify: bool,
    pub pkgs: Option<Vec<Value>>,
    pub reinstall: bool,
    pub downloadonly: bool,
    pub ignore_epoch: bool,
    pub version: Option<String>,
    pub normalize: bool,
    pub force_yes: bool,
    pub force_conf_new: bool,
    pub install_recommends: Option<bool>,
    pub only_upgrade: bool,
    pub cache_valid_time: i64,
}

/// `install`: the changes (`{pkg: {old, new}}`), or a
/// `CommandExecutionError` with `errors` and `changes` in its info.
pub fn install(ctx: &Context, o: &InstallOpts) -> Result<Map, PkgError> {
    let mut refresh_first = false;
    if o.refresh {
        refresh_first = true;
        let latest_shown = |n: &str| -> Result<String, PkgError> {
            let lo = LatestOpts {
                refresh: false,
                show_installed: true,
                ..Default::default()
            };
            // A dict never equals the wanted version.
            Ok(latest_version(ctx, &[n.to_string()], &lo)?
                .single
                .unwrap_or_else(|| "\u{0}<dict>".into()))
        };
        if let Some(v) = o.version.as_ref().filter(|v| !v.is_empty()) {
            refresh_first = false;
            let name = o.name.clone().unwrap_or_default();
            if latest_shown(&name)? != *v {
                refresh_first = true;
            }
        }
        if let Some(pkgs) = o.pkgs.as_ref().filter(|p| !p.is_empty()) {
            refresh_first = false;
            for p in pkgs {
                match p {
                    Value::Map(m) => {
                        let Some((k, v)) = m.iter().next() else {
                            continue;
                        };
                        let latest = latest_shown(&str_of(k))?;
                        if v.is_null() || latest != str_of(v) {
                            refresh_first = true;
                        }
                    }
                    _ => refresh_first = true,
                }
            }
        }
    }
    let Some(pkg_params) = parse_targets(
        ctx,
        o.name.as_deref(),
        o.pkgs.as_deref(),
        o.version.clone(),
        o.normalize,
    )?
    else {
        return Ok(Map::default());
    };
    let old_list = list_pkgs(ctx, false, false)?;
    let old = stringify(&old_list);
    let has_comparison: Vec<String> = pkg_params
        .iter()
        .filter(|(_, v)| {
            v.as_ref()
                .is_some_and(|v| v.starts_with('<') || v.starts_with('>'))
        })
        .map(|(k, _)| k.clone())
        .collect();
    let available = if has_comparison.is_empty() {
        PkgVersions::new()
    } else {
        list_repo_pkgs(ctx, &has_comparison)?
    };
    let mut prefix = strs(&["apt-get", "-q", "-y"]);
    if o.force_yes {
        prefix.push("--force-yes".into());
    }
    if o.force_conf_new {
        prefix.extend(strs(&["-o", "DPkg::Options::=--force-confnew"]));
    } else {
        prefix.extend(strs(&[
            "-o",
            "DPkg::Options::=--force-confold",
            "-o",
            "DPkg::Options::=--force-confdef",
        ]));
    }
    match o.install_recommends {
        Some(false) => prefix.push("--no-install-recommends".into()),
        Some(true) => prefix.push("--install-recommends".into()),
        None => {}
    }
    if o.only_upgrade {
        prefix.push("--only-upgrade".into());
    }
    if o.skip_verify {
        prefix.push("--allow-unauthenticated".into());
    }
    if let Some(r) = &o.fromrepo {
        prefix.extend(["-t".to_string(), r.clone()]);
    }
    prefix.push("install".into());
    let mut targets: Vec<String> = Vec::new();
    let mut downgrade: Vec<String> = Vec::new();
    let mut to_reinstall: IndexMap<String, String> = IndexMap::new();
    let mut errors: Vec<String> = Vec::new();
    let single_name = o.name.is_some() && o.pkgs.is_none() && pkg_params.len() == 1;
    for (pkgname, version_num) in &pkg_params {
        let mut version_num = version_num.clone();
        if single_name {
            if let Some(v) = o.version.as_ref().filter(|v| !v.is_empty()) {
                version_num = Some(v.clone());
            }
        }
        match version_num {
            None => {
                if o.reinstall && old.contains_key(pkgname) {
                    to_reinstall.insert(pkgname.clone(), pkgname.clone());
                } else {
                    targets.push(pkgname.clone());
                }
            }
            Some(v) => {
                let mut v = v.trim_start_matches('=').to_string();
                if has_comparison.contains(pkgname) {
                    let candidates = available.get(pkgname).cloned().unwrap_or_default();
                    match match_version(&v, &candidates, o.ignore_epoch) {
                        Some(t) => v = t,
                        None => {
                            errors.push(format!(
                                "No version matching '{pkgname}{v}' could be found (available: {})",
                                if candidates.is_empty() {
                                    "None".to_string()
                                } else {
                                    candidates.join(", ")
                                }
                            ));
                            continue;
                        }
                    }
                }
                let pkgstr = format!("{pkgname}={v}");
                let cver = old.get(pkgname).cloned().unwrap_or_default();
                if o.reinstall && !cver.is_empty() && compare(&v, "==", &cver, false) {
                    to_reinstall.insert(pkgname.clone(), pkgstr);
                } else if cver.is_empty() || compare(&v, ">=", &cver, false) {
                    targets.push(pkgstr);
                } else {
                    downgrade.push(pkgstr);
                }
            }
        }
    }
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let mut all_pkgs: Vec<String> = Vec::new();
    if !targets.is_empty() {
        all_pkgs.extend(targets.iter().cloned());
        let mut c = prefix.clone();
        c.extend(targets.iter().cloned());
        cmds.push(c);
    }
    if !downgrade.is_empty() {
        let mut c = prefix.clone();
        if !c.iter().any(|x| x == "--force-yes") {
            let at = c.len() - 1;
            c.insert(at, "--force-yes".into());
        }
        c.extend(downgrade.iter().cloned());
        cmds.push(c);
    }
    if o.downloadonly {
        if let Some(last) = cmds.last_mut() {
            last.push("--download-only".into());
        }
    }
    if !to_reinstall.is_empty() {
        all_pkgs.extend(to_reinstall.keys().cloned());
        let mut c = prefix.clone();
        c.push("--reinstall".into());
        c.extend(to_reinstall.values().cloned());
        cmds.push(c);
    }
    let mut ret = Map::default();
    if !cmds.is_empty() {
        if refresh_first {
            refresh_db(ctx, o.cache_valid_time, false)?;
        }
        let hold_pkgs = get_selections(None, Some("hold"))?
            .shift_remove("hold")
            .unwrap_or_default();
        let targeted: Vec<&str> = all_pkgs
            .iter()
            .map(|x| x.split('=').next().unwrap_or(x))
            .collect();
        let to_unhold: Vec<Value> = hold_pkgs
            .iter()
            .filter(|h| targeted.contains(&h.as_str()))
            .map(|h| Value::from(h.as_str()))
            .collect();
        if !to_unhold.is_empty() {
            hold_unhold(ctx, false, None, Some(&to_unhold), false)?;
        }
        for c in &cmds {
            let out = call_apt(ctx, c, true, None)?;
            if out.retcode != 0 && !out.stderr.is_empty() {
                errors.push(out.stderr);
            }
        }
        let new = stringify(&list_pkgs(ctx, false, false)?);
        ret = compare_dicts(&old, &new);
        for pkgname in to_reinstall.keys() {
            if !ret.contains_key(&Value::from(pkgname.as_str())) || old.contains_key(pkgname) {
                let mut m = Map::default();
                m.insert(
                    Value::from("old"),
                    Value::from(old.get(pkgname).cloned().unwrap_or_default()),
                );
                m.insert(
                    Value::from("new"),
                    Value::from(new.get(pkgname).cloned().unwrap_or_default()),
                );
                ret.insert(Value::from(pkgname.as_str()), Value::Map(m));
            }
        }
        if !to_unhold.is_empty() {
            hold_unhold(ctx, true, None, Some(&to_unhold), false)?;
        }
    }
    if !errors.is_empty() {
        return Err(exec_with_info(
            "Problem encountered installing package(s)",
            errors,
            Value::Map(ret),
        ));
    }
    Ok(ret)
}

fn exec_with_info(msg: &str, errors: Vec<String>, changes: Value) -> PkgError {
    let mut info = Map::default();
    info.insert(
        Value::from("errors"),
        Value::List(errors.into_iter().map(Value::from).collect()),
    );
    info.insert(Value::from("changes"), changes);
    PkgError::Exec(ExecError {
        message: msg.into(),
        info: Some(info),
    })
}

/// `fnmatch.fnmatch` (case-sensitive on POSIX): `*`, `?`, `[...]`.
pub fn fnmatch(name: &str, pat: &str) -> bool {
    let mut re = String::from("(?s)^");
    let chars: Vec<char> = pat.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    re.push_str("\\[");
                } else {
                    let mut stuff: String = chars[i..j].iter().collect();
                    stuff = stuff.replace('\\', "\\\\");
                    i = j + 1;
                    if let Some(rest) = stuff.strip_prefix('!') {
                        stuff = format!("^{rest}");
                    } else if stuff.starts_with('^') {
                        stuff = format!("\\{stuff}");
                    }
                    re.push('[');
                    re.push_str(&stuff);
                    re.push(']');
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re)
        .map(|r| r.is_match(name))
        .unwrap_or(false)
}

/// `salt.utils.pkg.match_wildcard`.
fn match_wildcard(current: &PkgVersions, params: &mut IndexMap<String, Option<String>>) {
    let mut matches: IndexMap<String, Option<String>> = IndexMap::new();
    for p in params.keys().cloned().collect::<Vec<_>>() {
        if p.contains('*') {
            let v = params.get(&p).cloned().flatten();
            matches = current
                .keys()
                .filter(|k| fnmatch(k, &p))
                .map(|k| (k.clone(), v.clone()))
                .collect();
            params.shift_remove(&p);
        }
    }
    for (k, v) in matches {
        params.insert(k, v);
    }
}

/// `remove` (`purge=false`) or `purge`. For purge the changes are
/// `{removed: ..., installed: ...}`.
pub fn uninstall(
    ctx: &Context,
    purge: bool,
    name: Option<&str>,
    pkgs: Option<&[Value]>,
) -> Result<Map, PkgError> {
    let Some(pkg_params) = parse_targets(ctx, name, pkgs, None, true)? else {
        return Ok(Map::default());
    };
    let old_list = list_pkgs(ctx, false, false)?;
    let old_removed_list = list_pkgs(ctx, true, false)?;
    let mut p1 = pkg_params.clone();
    match_wildcard(&old_list, &mut p1);
    let mut targets: Vec<String> = p1
        .keys()
        .filter(|k| old_list.contains_key(*k))
        .cloned()
        .collect();
    if purge {
        let mut p2 = pkg_params.clone();
        match_wildcard(&old_removed_list, &mut p2);
        targets.extend(
            p2.keys()
                .filter(|k| old_removed_list.contains_key(*k))
                .cloned(),
        );
    }
    if targets.is_empty() {
        return Ok(Map::default());
    }
    let action = if purge { "purge" } else { "remove" };
    let mut cmd = strs(&["apt-get", "-q", "-y", action]);
    cmd.extend(targets);
    let out = call_apt(ctx, &cmd, true, None)?;
    let errors = if out.retcode != 0 && !out.stderr.is_empty() {
        vec![out.stderr]
    } else {
        vec![]
    };
    let new_list = list_pkgs(ctx, false, false)?;
    let changes = compare_dicts(&stringify(&old_list), &stringify(&new_list));
    let ret = if purge {
        let new_removed = list_pkgs(ctx, true, false)?;
        let mut m = Map::default();
        m.insert(
            Value::from("removed"),
            Value::Map(compare_dicts(
                &stringify(&old_removed_list),
                &stringify(&new_removed),
            )),
        );
        m.insert(Value::from("installed"), Value::Map(changes));
        m
    } else {
        changes
    };
    if !errors.is_empty() {
        return Err(exec_with_info(
            "Problem encountered removing package(s)",
            errors,
            Value::Map(ret),
        ));
    }
    Ok(ret)
}

// ---------------------------------------------------------------------
// Registered execution functions.

fn names_of(args: Vec<Value>) -> Vec<String> {
    args.iter().map(str_of).collect()
}

fn kw_true(kwargs: &Map, key: &str, default: bool) -> bool {
    kwargs
        .get(&Value::from(key))
        .map(is_true)
        .unwrap_or(default)
}

fn kw_str(kwargs: &Map, key: &str) -> Option<String> {
    kwargs
        .get(&Value::from(key))
        .filter(|v| !v.is_null())
        .map(str_of)
}

fn kw_int(kwargs: &Map, key: &str) -> i64 {
    kwargs
        .get(&Value::from(key))
        .and_then(|v| match v {
            Value::Int(i) => Some(*i as i64),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        })
        .unwrap_or(0)
}

fn strip_pub(kwargs: &mut Map) {
    kwargs.retain(|k, _| !k.as_str().is_some_and(|s| s.starts_with("__")));
}

fn test_mode(ctx: &Context) -> bool {
    ctx.opts.get("test").is_some_and(Value::truthy)
}

fn fn_list_pkgs(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pkg.list_pkgs",
        &["versions_as_list", "removed", "purge_desired"],
        0,
        false,
        true,
        args,
        kwargs,
    )?;
    let as_list = b.opt(0).is_some_and(is_true);
    let l = list_pkgs(
        ctx,
        b.opt(1).is_some_and(is_true),
        b.opt(2).is_some_and(is_true),
    )
    .map_err(PkgError::into_mod_err)?;
    Ok(versions_value(&l, as_list))
}

fn fn_version(ctx: &Context, args: Vec<Value>, mut kwargs: Map) -> Result<Value, String> {
    strip_pub(&mut kwargs);
    let as_list = kw_true(&kwargs, "versions_as_list", false);
    version_value(ctx, &names_of(args), as_list).map_err(PkgError::into_mod_err)
}

/// `pkg_resource.version`: a string for one name, else a dict.
pub fn version_value(ctx: &Context, names: &[String], as_list: bool) -> Result<Value, PkgError> {
    let mut ret = PkgVersions::new();
    let mut glob = false;
    if !names.is_empty() {
        let pkgs = list_pkgs(ctx, false, false)?;
        for n in names {
            if n.contains('*') {
                glob = true;
                for (k, v) in pkgs.iter().filter(|(k, _)| fnmatch(k, n)) {
                    ret.insert(k.clone(), v.clone());
                }
            } else {
                ret.insert(n.clone(), pkgs.get(n).cloned().unwrap_or_default());
            }
        }
    }
    let v = versions_value(&ret, as_list);
    if ret.len() == 1 && !glob {
        if let Value::Map(m) = v {
            return Ok(m.into_values().next().unwrap_or(Value::from("")));
        }
    }
    Ok(v)
}

fn fn_latest_version(ctx: &Context, args: Vec<Value>, mut kwargs: Map) -> Result<Value, String> {
    strip_pub(&mut kwargs);
    if kwargs.contains_key(&Value::from("repo")) {
        return Err(invocation_error(
            "The 'repo' argument is invalid, use 'fromrepo' instead",
        ));
    }
    let names = names_of(args);
    if names.is_empty() {
        return Ok(Value::from(""));
    }
    let o = LatestOpts {
        refresh: kw_true(&kwargs, "refresh", true),
        show_installed: kw_true(&kwargs, "show_installed", false),
        fromrepo: kw_str(&kwargs, "fromrepo"),
        cache_valid_time: kw_int(&kwargs, "cache_valid_time"),
    };
    let ret = latest_version(ctx, &names, &o).map_err(PkgError::into_mod_err)?;
    Ok(ret.to_value())
}

fn fn_upgrade_available(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pkg.upgrade_available",
        &["name"],
        1,
        false,
        true,
        args,
        kwargs,
    )?;
    let name = b.str(0).unwrap_or_default();
    let ret = latest_version(
        ctx,
        std::slice::from_ref(&name),
        &LatestOpts {
            refresh: true,
            ..Default::default()
        },
    )
    .map_err(PkgError::into_mod_err)?;
    // `latest_version(name) != ""`: a dict (no candidate at all) is True.
    Ok(Value::Bool(ret.single.is_none_or(|v| !v.is_empty())))
}

fn fn_refresh_db(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pkg.refresh_db",
        &["cache_valid_time", "failhard"],
        0,
        false,
        true,
        args,
        kwargs,
    )?;
    let cvt = match b.opt(0) {
        Some(Value::Int(i)) => *i as i64,
        Some(v) => str_of(v).trim().parse().unwrap_or(0),
        None => 0,
    };
    refresh_db(ctx, cvt, b.opt(1).is_some_and(is_true))
        .map(Value::Map)
        .map_err(PkgError::into_mod_err)
}

fn list_arg(v: Option<&Value>) -> Result<Option<Vec<Value>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::List(l)) => Ok(Some(l.clone())),
        Some(Value::Str(s)) => match brine_core::yaml::load(s) {
            Ok(Value::List(l)) => Ok(Some(l)),
            _ => Err(invocation_error(format!("Invalid pkgs list: {s}"))),
        },
        Some(other) => Err(invocation_error(format!(
            "Invalid pkgs list: {}",
            str_of(other)
        ))),
    }
}

fn fn_install(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pkg.install",
        &[
            "name",
            "refresh",
            "fromrepo",
            "skip_verify",
            "debconf",
            "pkgs",
            "sources",
            "reinstall",
            "downloadonly",
            "ignore_epoch",
        ],
        0,
        false,
        true,
        args,
        kwargs,
    )?;
    if b.opt(6).is_some() {
        return Err("pkg.install: 'sources' (package files) is not supported by Brine".into());
    }
    if b.opt(4).is_some() {
        return Err("pkg.install: 'debconf' is not supported by Brine".into());
    }
    let kw = &b.kwargs;
    // Salt calls `.startswith` on the version: a YAML number (version=1.0
    // on the command line) fails there.
    if b.opt(5).is_none() {
        if let Some(ver @ (Value::Int(_) | Value::Float(_) | Value::Bool(_))) =
            kw.get(&Value::from("version"))
        {
            return Err(format!(
                "AttributeError: '{}' object has no attribute 'startswith'",
                ver.type_name()
            ));
        }
    }
    let o = InstallOpts {
        name: b.str(0),
        refresh: b.opt(1).is_some_and(is_true),
        fromrepo: b.str(2),
        skip_verify: b.opt(3).is_some_and(Value::truthy),
        pkgs: list_arg(b.opt(5))?,
        reinstall: b.opt(7).is_some_and(Value::truthy),
        downloadonly: b.opt(8).is_some_and(Value::truthy),
        ignore_epoch: b.opt(9).is_some_and(Value::truthy),
        version: kw_str(kw, "version"),
        normalize: kw_true(kw, "normalize", true),
        force_yes: kw.get(&Value::from("force_yes")).is_some_and(Value::truthy),
        force_conf_new: kw
            .get(&Value::from("force_conf_new"))
            .is_some_and(Value::truthy),
        install_recommends: kw
            .get(&Value::from("install_recommends"))
            .map(Value::truthy),
        only_upgrade: kw
            .get(&Value::from("only_upgrade"))
            .is_some_and(Value::truthy),
        cache_valid_time: kw_int(kw, "cache_valid_time"),
    };
    install(ctx, &o)
        .map(Value::Map)
        .map_err(PkgError::into_mod_err)
}

fn uninstall_fn(
    ctx: &Context,
    purge: bool,
    args: Vec<Value>,
    kwargs: Map,
) -> Result<Value, String> {
    let fun = if purge { "pkg.purge" } else { "pkg.remove" };
    let b = bind(fun, &["name", "pkgs"], 0, false, true, args, kwargs)?;
    let pkgs = list_arg(b.opt(1))?;
    uninstall(ctx, purge, b.str(0).as_deref(), pkgs.as_deref())
        .map(Value::Map)
        .map_err(PkgError::into_mod_err)
}

fn fn_remove(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    uninstall_fn(ctx, false, args, kwargs)
}

fn fn_purge(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    uninstall_fn(ctx, true, args, kwargs)
}

fn hold_fn(ctx: &Context, hold: bool, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let fun = if hold { "pkg.hold" } else { "pkg.unhold" };
    let b = bind(
        fun,
        &["name", "pkgs", "sources"],
        0,
        false,
        true,
        args,
        kwargs,
    )?;
    let pkgs = list_arg(b.opt(1))?;
    if b.opt(2).is_some() {
        if pkgs.is_some() {
            return Err(invocation_error(
                "Only one of pkgs or sources can be specified.",
            ));
        }
        return Err(format!("{fun}: 'sources' is not supported by Brine"));
    }
    hold_unhold(
        ctx,
        hold,
        b.str(0).as_deref(),
        pkgs.as_deref(),
        test_mode(ctx),
    )
    .map(Value::Map)
    .map_err(PkgError::into_mod_err)
}

fn fn_hold(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    hold_fn(ctx, true, args, kwargs)
}

fn fn_unhold(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    hold_fn(ctx, false, args, kwargs)
}

fn fn_version_cmp(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pkg.version_cmp",
        &["pkg1", "pkg2", "ignore_epoch"],
        2,
        false,
        true,
        args,
        kwargs,
    )?;
    let r = version_cmp(
        &b.str(0).unwrap_or_else(|| "None".into()),
        &b.str(1).unwrap_or_else(|| "None".into()),
        b.opt(2).is_some_and(Value::truthy),
    );
    Ok(r.map(|i| Value::Int(i as i128)).unwrap_or(Value::Null))
}

fn fn_list_repo_pkgs(ctx: &Context, args: Vec<Value>, _kwargs: Map) -> Result<Value, String> {
    let l = list_repo_pkgs(ctx, &names_of(args)).map_err(PkgError::into_mod_err)?;
    Ok(versions_value(&l, true))
}

fn selections_value(s: IndexMap<String, Vec<String>>) -> Value {
    versions_value(&s, true)
}

fn fn_get_selections(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pkg.get_selections",
        &["pattern", "state"],
        0,
        false,
        false,
        args,
        kwargs,
    )?;
    get_selections(b.str(0).as_deref(), b.str(1).as_deref())
        .map(selections_value)
        .map_err(PkgError::into_mod_err)
}

fn fn_set_selections(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pkg.set_selections",
        &["path", "selection", "clear", "saltenv"],
        0,
        false,
        false,
        args,
        kwargs,
    )?;
    if b.opt(0).is_some() {
        return Err("pkg.set_selections: 'path' is not supported by Brine".into());
    }
    let sel = match b.opt(1) {
        None => return Ok(Value::map()),
        Some(Value::Str(s)) => brine_core::yaml::load(s)
            .map_err(|e| invocation_error(format!("Improperly-formatted selection: {e}")))?,
        Some(v) => v.clone(),
    };
    let Value::Map(m) = sel else {
        return Err(invocation_error("Improperly-formatted selection"));
    };
    let mut selection = IndexMap::new();
    for (k, v) in m {
        let pkgs = match v {
            Value::List(l) => l.iter().map(str_of).collect(),
            other => vec![str_of(&other)],
        };
        selection.insert(str_of(&k), pkgs);
    }
    set_selections(ctx, &selection, test_mode(ctx))
        .map(Value::Map)
        .map_err(PkgError::into_mod_err)
}

fn fn_normalize_name(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "pkg.normalize_name",
        &["name"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    Ok(Value::from(normalize_name(
        ctx,
        &b.str(0).unwrap_or_default(),
    )))
}

fn fn_parse_arch(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("pkg.parse_arch", &["name"], 1, false, false, args, kwargs)?;
    let name = b.str(0).unwrap_or_default();
    let (n, a) = match name.rsplit_once(':') {
        Some((n, a)) => (n.to_string(), Value::from(a)),
        None => (name.clone(), Value::Null),
    };
    let mut m = Map::default();
    m.insert(Value::from("name"), Value::from(n));
    m.insert(Value::from("arch"), a);
    Ok(Value::Map(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_version_order() {
        let cases = [
            ("1.0", "1.0~rc1", 1),
            ("1.0", "1.0", 0),
            ("1:1.0", "2.0", 1),
            ("1.0-1", "1.0-2", -1),
            ("1.0a", "1.0", 1),
            ("1.0+b1", "1.0", 1),
            ("1.10", "1.9", 1),
            ("1.0~~", "1.0~", -1),
            ("", "1.1", -1),
            ("1.0*", "1.1", -1),
            ("a1.0", "1.1", 1),
            ("1.002", "1.2", 0),
        ];
        for (a, b, want) in cases {
            assert_eq!(version_cmp(a, b, false), Some(want), "{a} vs {b}");
        }
        assert_eq!(version_cmp("1.0-", "1.1", false), None);
        assert_eq!(version_cmp("1.0 2", "1.1", false), None);
        assert_eq!(version_cmp("1:2.0", "2.0", true), Some(0));
    }

    #[test]
    fn comparisons_and_globs() {
        assert_eq!(split_comparison(">=1.1"), (">=".into(), "1.1".into()));
        assert_eq!(split_comparison("1.1"), ("".into(), "1.1".into()));
        assert!(fnmatch("1.0", "1.0*"));
        assert!(!fnmatch("1.1", "1.0*"));
        assert!(fnmatch("brine-x", "brine-?"));
        let avail = vec!["1.1".to_string(), "1.0".to_string()];
        assert_eq!(match_version(">=1.1", &avail, false), Some("1.1".into()));
        assert_eq!(match_version("<1.1", &avail, false), Some("1.0".into()));
        assert_eq!(match_version(">2", &avail, false), None);
    }

    #[test]
    fn exec_error_text() {
        let e = exec_with_info(
            "Problem encountered removing package(s)",
            vec!["E: Held packages were changed".into()],
            Value::map(),
        );
        let PkgError::Exec(e) = e else { panic!() };
        assert_eq!(
            e.strerror_without_changes(),
            "Problem encountered removing package(s). Additional info follows:\n\nerrors:\n    - E: Held packages were changed"
        );
    }
}
