//! Minion configuration, read as Salt reads it (`salt/config/__init__.py`):
//! `CONFIG_DIR/minion`, then `default_include` (`minion.d/*.conf`) and
//! `include` globs, laid over Salt's `DEFAULT_MINION_OPTS`; then
//! `apply_minion_config`: `environment` -> `saltenv`, `id` resolution,
//! `append_domain`, root normalisation and `root_dir` prefixing.
//!
//! Errors in the main file are returned (salt-call exits 1); errors in
//! included files are logged and the file is skipped, as Salt does.

use crate::value::{Map, Value};
use std::path::{Path, PathBuf};

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Invalid YAML (Salt: "Error parsing configuration file: PATH - ...").
    #[error("Error parsing configuration file: {} - {}", path.display(), yaml_message(path, message, *line, *column))]
    Yaml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The document is not a mapping.
    #[error("Error parsing configuration file: {} - conf should be a document, not <class '{type_name}'>.", path.display())]
    NotADocument {
        path: PathBuf,
        type_name: &'static str,
    },
    #[error("Error reading configuration file: {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// PyYAML's error text names the stream; Salt reads the file, so its
/// messages name the file.
fn yaml_message(path: &Path, message: &str, line: usize, column: usize) -> String {
    let quoted = format!("\"{}\"", path.display());
    if message.contains("\"<unicode string>\"") {
        message.replace("\"<unicode string>\"", &quoted)
    } else if message.contains("line ") {
        message.to_string()
    } else {
        format!("{message}\n  in {quoted}, line {line}, column {column}")
    }
}

/// Salt 3007.8's `DEFAULT_MINION_OPTS` (values as on Linux).
const DEFAULT_MINION_OPTS_JSON: &str = r#"
{
"interface": "0.0.0.0",
"master": "salt",
"master_type": "str",
"master_uri_format": "default",
"source_interface_name": "",
"source_address": "",
"source_ret_port": 0,
"source_publish_port": 0,
"master_port": 4506,
"master_finger": "",
"master_shuffle": false,
"master_alive_interval": 0,
"master_failback": false,
"master_failback_interval": 0,
"verify_master_pubkey_sign": false,
"sign_pub_messages": false,
"always_verify_signature": false,
"master_sign_key_name": "master_sign",
"syndic_finger": "",
"user": "root",
"root_dir": "/",
"pki_dir": "/etc/salt/pki/minion",
"id": "",
"id_function": {},
"cachedir": "/var/cache/salt/minion",
"append_minionid_config_dirs": [],
"cache_jobs": false,
"grains_blacklist": [],
"grains_cache": false,
"grains_cache_expiration": 300,
"grains_deep_merge": false,
"conf_file": "/etc/salt/minion",
"sock_dir": "/var/run/salt/minion",
"sock_pool_size": 1,
"backup_mode": "",
"renderer": "jinja|yaml",
"renderer_whitelist": [],
"renderer_blacklist": [],
"random_startup_delay": 0,
"failhard": false,
"autoload_dynamic_modules": true,
"saltenv": null,
"lock_saltenv": false,
"pillarenv": null,
"pillarenv_from_saltenv": false,
"pillar_opts": false,
"pillar_source_merging_strategy": "smart",
"pillar_merge_lists": false,
"pillar_includes_override_sls": false,
"pillar_cache": false,
"pillar_cache_ttl": 3600,
"pillar_cache_backend": "disk",
"request_channel_timeout": 60,
"request_channel_tries": 3,
"gpg_cache": false,
"gpg_cache_ttl": 86400,
"gpg_cache_backend": "disk",
"extension_modules": "/var/cache/salt/minion/extmods",
"state_top": "top.sls",
"state_top_saltenv": null,
"startup_states": "",
"sls_list": [],
"start_event_grains": [],
"top_file": "",
"thoriumenv": null,
"thorium_top": "top.sls",
"thorium_interval": 0.5,
"thorium_roots": {"base": ["/srv/thorium"]},
"file_client": "remote",
"local": false,
"use_master_when_local": false,
"file_roots": {"base": ["/srv/salt", "/srv/spm/salt"]},
"top_file_merging_strategy": "merge",
"env_order": [],
"default_top": "base",
"file_recv": false,
"file_recv_max_size": 100,
"file_ignore_regex": [],
"file_ignore_glob": [],
"fileserver_backend": ["roots"],
"fileserver_followsymlinks": true,
"fileserver_ignoresymlinks": false,
"pillar_roots": {"base": ["/srv/pillar", "/srv/spm/pillar"]},
"on_demand_ext_pillar": ["libvirt", "virtkey"],
"decrypt_pillar": [],
"decrypt_pillar_delimiter": ":",
"decrypt_pillar_default": "gpg",
"decrypt_pillar_renderers": ["gpg"],
"gpg_decrypt_must_succeed": true,
"roots_update_interval": 60,
"gitfs_update_interval": 60,
"git_pillar_update_interval": 60,
"hgfs_update_interval": 60,
"minionfs_update_interval": 60,
"s3fs_update_interval": 60,
"svnfs_update_interval": 60,
"git_pillar_base": "master",
"git_pillar_branch": "master",
"git_pillar_env": "",
"git_pillar_fallback": "",
"git_pillar_root": "",
"git_pillar_ssl_verify": true,
"git_pillar_global_lock": true,
"git_pillar_user": "",
"git_pillar_password": "",
"git_pillar_insecure_auth": false,
"git_pillar_privkey": "",
"git_pillar_pubkey": "",
"git_pillar_passphrase": "",
"git_pillar_refspecs": ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"],
"git_pillar_includes": true,
"gitfs_remotes": [],
"gitfs_mountpoint": "",
"gitfs_root": "",
"gitfs_base": "master",
"gitfs_fallback": "",
"gitfs_user": "",
"gitfs_password": "",
"gitfs_insecure_auth": false,
"gitfs_privkey": "",
"gitfs_pubkey": "",
"gitfs_passphrase": "",
"gitfs_saltenv_whitelist": [],
"gitfs_saltenv_blacklist": [],
"gitfs_global_lock": true,
"gitfs_ssl_verify": true,
"gitfs_saltenv": [],
"gitfs_ref_types": ["branch", "tag", "sha"],
"gitfs_refspecs": ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"],
"gitfs_disable_saltenv_mapping": false,
"unique_jid": false,
"hash_type": "sha256",
"optimization_order": [0, 1, 2],
"disable_modules": [],
"disable_returners": [],
"whitelist_modules": [],
"module_dirs": [],
"returner_dirs": [],
"grains_dirs": [],
"states_dirs": [],
"render_dirs": [],
"outputter_dirs": [],
"utils_dirs": [],
"publisher_acl": {},
"publisher_acl_blacklist": {},
"providers": {},
"clean_dynamic_modules": true,
"open_mode": false,
"auto_accept": true,
"autosign_timeout": 120,
"multiprocessing": true,
"process_count_max": -1,
"mine_enabled": true,
"mine_return_job": false,
"mine_interval": 60,
"ipc_mode": "ipc",
"ipc_write_buffer": 631912857,
"ipv6": null,
"file_buffer_size": 262144,
"tcp_pub_port": 4510,
"tcp_pull_port": 4511,
"tcp_authentication_retries": 5,
"tcp_reconnect_backoff": 1,
"log_file": "/var/log/salt/minion",
"log_level": "warning",
"log_level_logfile": null,
"log_datefmt": "%H:%M:%S",
"log_datefmt_logfile": "%Y-%m-%d %H:%M:%S",
"log_fmt_console": "[%(levelname)-8s] %(message)s",
"log_fmt_logfile": "%(asctime)s,%(msecs)03d [%(name)-17s:%(lineno)-4d][%(levelname)-8s][%(process)d] %(message)s",
"log_fmt_jid": "[JID: %(jid)s]",
"log_granular_levels": {},
"log_rotate_max_bytes": 0,
"log_rotate_backup_count": 0,
"max_event_size": 1048576,
"enable_legacy_startup_events": true,
"test": false,
"ext_job_cache": "",
"cython_enable": false,
"enable_fqdns_grains": false,
"enable_gpu_grains": true,
"enable_zip_modules": false,
"state_verbose": true,
"state_output": "full",
"state_output_diff": false,
"state_output_profile": true,
"state_auto_order": true,
"state_events": false,
"state_aggregate": false,
"state_queue": false,
"snapper_states": false,
"snapper_states_config": "root",
"acceptance_wait_time": 10,
"acceptance_wait_time_max": 0,
"rejected_retry": false,
"loop_interval": 1,
"verify_env": true,
"grains": {},
"permissive_pki_access": false,
"default_include": "minion.d/*.conf",
"update_url": false,
"update_restart_services": [],
"retry_dns": 30,
"retry_dns_count": null,
"resolve_dns_fallback": true,
"recon_max": 10000,
"recon_default": 1000,
"recon_randomize": true,
"return_retry_timer": 5,
"return_retry_timer_max": 10,
"return_retry_tries": 3,
"random_reauth_delay": 10,
"winrepo_source_dir": "salt://win/repo-ng/",
"winrepo_dir": "/srv/salt/win/repo",
"winrepo_dir_ng": "/srv/salt/win/repo-ng",
"winrepo_cachefile": "winrepo.p",
"winrepo_cache_expire_max": 604800,
"winrepo_cache_expire_min": 1800,
"winrepo_remotes": ["https://github.com/saltstack/salt-winrepo.git"],
"winrepo_remotes_ng": ["https://github.com/saltstack/salt-winrepo-ng.git"],
"winrepo_branch": "master",
"winrepo_fallback": "",
"winrepo_ssl_verify": true,
"winrepo_user": "",
"winrepo_password": "",
"winrepo_insecure_auth": false,
"winrepo_privkey": "",
"winrepo_pubkey": "",
"winrepo_passphrase": "",
"winrepo_refspecs": ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"],
"pidfile": "/var/run/salt-minion.pid",
"range_server": "range:80",
"reactor_refresh_interval": 60,
"reactor_worker_threads": 10,
"reactor_worker_hwm": 10000,
"engines": [],
"tcp_keepalive": true,
"tcp_keepalive_idle": 300,
"tcp_keepalive_cnt": -1,
"tcp_keepalive_intvl": -1,
"modules_max_memory": -1,
"grains_refresh_every": 0,
"minion_id_caching": true,
"minion_id_lowercase": false,
"minion_id_remove_domain": false,
"keysize": 2048,
"transport": "zeromq",
"auth_timeout": 5,
"auth_tries": 7,
"master_tries": 1,
"master_tops_first": false,
"auth_safemode": false,
"random_master": false,
"cluster_mode": false,
"restart_on_error": false,
"ping_interval": 0,
"username": null,
"password": null,
"zmq_filtering": false,
"zmq_monitor": false,
"cache_sreqs": true,
"cmd_safe": true,
"sudo_user": "",
"http_connect_timeout": 20.0,
"http_request_timeout": 3600.0,
"http_max_body": 107374182400,
"event_match_type": "startswith",
"minion_restart_command": [],
"pub_ret": true,
"proxy_host": "",
"proxy_username": "",
"proxy_password": "",
"proxy_port": 0,
"minion_jid_queue_hwm": 100,
"ssl": null,
"multifunc_ordered": false,
"beacons_before_connect": false,
"scheduler_before_connect": false,
"cache": "localfs",
"salt_cp_chunk_size": 65536,
"extmod_whitelist": {},
"extmod_blacklist": {},
"minion_sign_messages": false,
"discovery": false,
"schedule": {},
"ssh_merge_pillar": true,
"disabled_requisites": [],
"global_state_conditions": null,
"reactor_niceness": null,
"fips_mode": false,
"features": {},
"encryption_algorithm": "OAEP-SHA1",
"signing_algorithm": "PKCS1v15-SHA1"
}"#;

/// Salt's `DEFAULT_MINION_OPTS`, in Salt's order.
pub fn default_minion_opts() -> Map {
    match serde_json::from_str::<serde_json::Value>(DEFAULT_MINION_OPTS_JSON) {
        Ok(j) => match Value::from_json(&j) {
            Value::Map(m) => m,
            _ => Map::default(),
        },
        Err(_) => Map::default(),
    }
}

fn key(s: &str) -> Value {
    Value::Str(s.to_string())
}

fn get_str<'a>(m: &'a Map, k: &str) -> Option<&'a str> {
    m.get(&key(k)).and_then(Value::as_str)
}

/// Read one config file as `_read_conf_file`: YAML, empty is `{}`, must be a
/// mapping; a non-string `id` becomes its `str()`.
pub fn read_conf_file(path: &Path) -> Result<Map, ConfigError> {
    tracing::debug!("Reading configuration from {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let v = crate::yaml::load(&text).map_err(|e| ConfigError::Yaml {
        path: path.to_path_buf(),
        line: e.line,
        column: e.column,
        message: e.message.clone(),
    })?;
    let mut m = match v {
        // `safe_load(...) or {}`
        v if !v.truthy() => Map::default(),
        Value::Map(m) => m,
        other => {
            let type_name = other.type_name();
            return Err(ConfigError::NotADocument {
                path: path.to_path_buf(),
                type_name,
            });
        }
    };
    if let Some(id) = m.get_mut(&key("id")) {
        if !matches!(id, Value::Str(_)) {
            *id = Value::Str(crate::output::pyrepr::str_of(id));
        }
    }
    Ok(m)
}

/// `salt.utils.dictupdate.update(dest, upd, recursive_update=True,
/// merge_lists)`.
pub fn dictupdate(dest: &mut Map, upd: &Map, merge_lists: bool) {
    for (k, v) in upd {
        match (dest.get_mut(k), v) {
            (Some(Value::Map(d)), Value::Map(u)) => dictupdate(d, u, merge_lists),
            (Some(Value::List(d)), Value::List(u)) if merge_lists => {
                for x in u {
                    if !d.contains(x) {
                        d.push(x.clone());
                    }
                }
            }
            _ => {
                dest.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `os.path.expanduser`.
fn expanduser(p: &str) -> String {
    if p == "~" || p.starts_with("~/") {
        if let Ok(home) = std::env::var("HOME") {
            return format!("{home}{}", &p[1..]);
        }
    }
    p.to_string()
}

/// `fnmatch.fnmatchcase` for one path component: `*`, `?`, `[seq]`, `[!seq]`.
pub fn fnmatch(name: &str, pat: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pat.chars().collect();
    fn rec(n: &[char], p: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| rec(&n[i..], &p[1..])),
            Some('?') => !n.is_empty() && rec(&n[1..], &p[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(2).position(|&c| c == ']').map(|i| i + 2) else {
                    return n.first() == Some(&'[') && rec(&n[1..], &p[1..]);
                };
                let Some(&c) = n.first() else { return false };
                let (negate, set) = match p[1] {
                    '!' => (true, &p[2..close]),
                    _ => (false, &p[1..close]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        if set[i] <= c && c <= set[i + 2] {
                            hit = true;
                        }
                        i += 3;
                    } else {
                        if set[i] == c {
                            hit = true;
                        }
                        i += 1;
                    }
                }
                hit != negate && rec(&n[1..], &p[close + 1..])
            }
            Some(&c) => n.first() == Some(&c) && rec(&n[1..], &p[1..]),
        }
    }
    rec(&n, &p)
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// `glob.glob(pattern)` for absolute or relative patterns (hidden files are
/// matched only by patterns starting with `.`), unsorted like Python's.
pub fn glob(pattern: &str) -> Vec<String> {
    if !has_magic(pattern) {
        return if Path::new(pattern).exists() {
            vec![pattern.to_string()]
        } else {
            vec![]
        };
    }
    let absolute = pattern.starts_with('/');
    let mut cur: Vec<String> = vec![if absolute { "/".into() } else { String::new() }];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        let mut next = Vec::new();
        for base in &cur {
            let join = |name: &str| {
                if base.is_empty() {
                    name.to_string()
                } else if base.ends_with('/') {
                    format!("{base}{name}")
                } else {
                    format!("{base}/{name}")
                }
            };
            if has_magic(part) {
                let dir = if base.is_empty() { "." } else { base.as_str() };
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                for name in names {
                    if name.starts_with('.') && !part.starts_with('.') {
                        continue;
                    }
                    if fnmatch(&name, part) {
                        next.push(join(&name));
                    }
                }
            } else {
                let p = join(part);
                if Path::new(&p).exists() {
                    next.push(p);
                }
            }
        }
        cur = next;
    }
    cur
}

/// `include_config`: read every file the globs in `include` match (relative
/// to the directory of `orig_path`), sorted per glob, merged recursively with
/// lists merged. Unreadable files are logged and skipped.
pub fn include_config(include: &Value, orig_path: &Path, verbose: bool) -> Map {
    let patterns: Vec<String> = match include {
        Value::Str(s) if !s.is_empty() => vec![s.clone()],
        Value::List(l) => l
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => return Map::default(),
    };
    let mut configuration = Map::default();
    for pat in patterns {
        let mut path = expanduser(&pat);
        if !path.starts_with('/') {
            let dir = orig_path.parent().unwrap_or(Path::new(""));
            path = dir.join(&path).to_string_lossy().into_owned();
        }
        let mut matches = glob(&path);
        if matches.is_empty() && verbose {
            tracing::warn!(
                "Warning parsing configuration file: \"include\" path/glob '{}' matches no files",
                path
            );
        }
        matches.sort();
        for fname in matches {
            tracing::debug!("Including configuration from '{}'", fname);
            let fpath = PathBuf::from(&fname);
            let mut opts = match read_conf_file(&fpath) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!("{}", e);
                    Map::default()
                }
            };
            if let Some(inc) = opts.get(&key("include")).cloned() {
                if inc.truthy() {
                    let sub = include_config(&inc, &fpath, verbose);
                    for (k, v) in sub {
                        opts.insert(k, v);
                    }
                }
            }
            dictupdate(&mut configuration, &opts, true);
        }
    }
    configuration
}

/// `os.path.normpath` (POSIX).
pub fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let body = parts.join("/");
    if abs {
        format!("/{body}")
    } else if body.is_empty() {
        ".".into()
    } else {
        body
    }
}

/// `os.path.abspath`.
pub fn abspath(p: &str) -> String {
    if p.starts_with('/') {
        normpath(p)
    } else {
        let cwd = std::env::current_dir()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default();
        normpath(&format!("{cwd}/{p}"))
    }
}

/// `salt.config.prepend_root_dir`: put `root_dir` in front of these path
/// options (unless already under it).
pub fn prepend_root_dir(opts: &mut Map, path_options: &[&str]) {
    let root_dir = abspath(get_str(opts, "root_dir").unwrap_or("/"));
    for opt in path_options {
        let Some(path) = get_str(opts, opt).map(str::to_string) else {
            continue;
        };
        // Salt's default ROOT_DIR is "/", stripped to "".
        let tmp_def = path
            .starts_with('/')
            .then(|| path.clone())
            .filter(|s| !s.is_empty());
        let tmp_root = if !root_dir.is_empty()
            && (path == root_dir || path.starts_with(&format!("{root_dir}/")))
        {
            Some(path[root_dir.len()..].to_string()).filter(|s| !s.is_empty())
        } else {
            None
        };
        let rel = match (tmp_def, tmp_root) {
            (Some(d), None) => d,
            (None, Some(r)) => r,
            (Some(_), Some(r)) => r,
            (None, None) => {
                if path.starts_with('/') {
                    continue;
                }
                path
            }
        };
        let joined = normpath(&format!("{}/{}", root_dir, rel.trim_start_matches('/')));
        opts.insert(key(opt), Value::Str(joined));
    }
}

/// `_expand_glob_path`.
fn expand_glob_path(dirs: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for d in dirs {
        match d.as_str() {
            Some(s) if has_magic(s) => out.extend(glob(s).into_iter().map(Value::Str)),
            _ => out.push(d.clone()),
        }
    }
    out
}

/// `_validate_file_roots` / `_validate_pillar_roots` + `_normalize_roots`.
fn normalize_roots(v: &Value, default_dir: &str) -> Value {
    let Value::Map(m) = v else {
        tracing::warn!("The file_roots parameter is not properly formatted, using defaults");
        return Value::Map(Map::from_iter([(
            key("base"),
            Value::List(vec![key(default_dir)]),
        )]));
    };
    let mut out = Map::default();
    for (env, dirs) in m {
        let env = Value::Str(crate::output::pyrepr::str_of(env));
        let dirs = match dirs {
            Value::List(l) => expand_glob_path(l),
            _ => Vec::new(),
        };
        out.insert(env, Value::List(dirs));
    }
    Value::Map(out)
}

/// The minion id as `salt.config.get_id` finds it when the config has none:
/// the cached `ROOT_DIR/etc/salt/minion_id`, else the host's name.
pub fn get_id(opts: &Map) -> String {
    let root = get_str(opts, "root_dir").unwrap_or("/");
    if opts
        .get(&key("minion_id_caching"))
        .map(Value::truthy)
        .unwrap_or(true)
    {
        let cache = Path::new(root).join("etc/salt/minion_id");
        if let Ok(text) = std::fs::read_to_string(&cache) {
            let name = text
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches('\u{feff}');
            if !name.is_empty() && name != "localhost" {
                return name.to_string();
            }
        }
    }
    let mut id = generate_minion_id();
    if opts
        .get(&key("minion_id_lowercase"))
        .is_some_and(Value::truthy)
    {
        id = id.to_lowercase();
    }
    id
}

fn is_localhost_name(s: &str) -> bool {
    s.starts_with("localhost")
        || s.starts_with("ip6-")
        || s.starts_with("ipv6-")
        || s.starts_with("::1")
        || s.starts_with("fe00::")
        || s.starts_with("fe02::")
        || s == "0.0.0.0"
        || (s.starts_with("127.") && s.as_bytes().get(4).is_some_and(u8::is_ascii_digit))
}

/// `salt.utils.network.generate_minion_id`, without DNS: the kernel's host
/// name, then `/etc/hostname`, then single names in `/etc/hosts`.
pub fn generate_minion_id() -> String {
    let mut candidates: Vec<String> = Vec::new();
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        candidates.push(h.trim().to_string());
    }
    for f in ["/etc/hostname", "/etc/nodename", "/etc/hosts"] {
        if let Ok(text) = std::fs::read_to_string(f) {
            for line in text.lines() {
                let hst: Vec<&str> = line
                    .split('#')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                if !hst.is_empty()
                    && (hst[0].starts_with("127.") || hst[0].starts_with("::1") || hst.len() == 1)
                {
                    candidates.extend(hst.iter().map(|s| s.to_string()));
                }
            }
        }
    }
    candidates
        .into_iter()
        .find(|c| !c.is_empty() && !is_localhost_name(c))
        .unwrap_or_else(|| "localhost".to_string())
}

/// `apply_minion_config`: lay `overrides` over the defaults and derive the
/// computed options.
pub fn apply_minion_config(overrides: Map, minion_id: Option<&str>) -> Map {
    let mut opts = default_minion_opts();
    opts.insert(key("__role"), key("minion"));
    let mut overrides = overrides;
    if let Some(dir) = get_str(&overrides, "log_dir")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
    {
        match get_str(&overrides, "log_file")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
        {
            Some(f) if !f.starts_with('/') => {
                overrides.insert(key("log_file"), Value::Str(format!("{dir}/{f}")));
            }
            Some(_) => {}
            None => {
                overrides.insert(key("log_file"), Value::Str(format!("{dir}/minion")));
            }
        }
    }
    for (k, v) in overrides {
        opts.insert(k, v);
    }
    if let Some(env) = opts.get(&key("environment")).cloned() {
        let saltenv = opts.get(&key("saltenv")).cloned().unwrap_or_default();
        if !saltenv.is_null() {
            tracing::warn!("The 'saltenv' and 'environment' minion config options cannot both be used. Ignoring 'environment' in favor of 'saltenv'.");
            opts.insert(key("environment"), saltenv);
        } else {
            opts.insert(key("saltenv"), env);
        }
    }
    opts.insert(key("__cli"), key("salt-call"));
    let has_id = opts.get(&key("id")).is_some_and(Value::truthy);
    if !has_id {
        let id = match minion_id {
            Some(i) => i.to_string(),
            None => get_id(&opts),
        };
        opts.insert(key("id"), Value::Str(id));
    }
    if let (Some(id), Some(dom)) = (get_str(&opts, "id"), get_str(&opts, "append_domain")) {
        if !id.ends_with(dom) && !id.ends_with('.') {
            let new = format!("{id}.{dom}");
            opts.insert(key("id"), Value::Str(new));
        }
    }
    let cachedir = get_str(&opts, "cachedir").unwrap_or("").to_string();
    let sock_dir = get_str(&opts, "sock_dir").unwrap_or("").to_string();
    if sock_dir.chars().count() > cachedir.chars().count() + 10 {
        opts.insert(
            key("sock_dir"),
            Value::Str(format!("{cachedir}/.salt-unix")),
        );
    }
    let open_mode = opts.get(&key("open_mode")) == Some(&Value::Bool(true));
    opts.insert(key("open_mode"), Value::Bool(open_mode));
    let fr = normalize_roots(
        opts.get(&key("file_roots")).unwrap_or(&Value::Null),
        "/srv/salt",
    );
    opts.insert(key("file_roots"), fr);
    let pr = normalize_roots(
        opts.get(&key("pillar_roots")).unwrap_or(&Value::Null),
        "/srv/pillar",
    );
    opts.insert(key("pillar_roots"), pr);
    if !opts
        .get(&key("extension_modules"))
        .is_some_and(Value::truthy)
    {
        opts.insert(
            key("extension_modules"),
            Value::Str(format!("{cachedir}/extmods")),
        );
    }
    if !opts.get(&key("utils_dirs")).is_some_and(Value::truthy) {
        let ext = get_str(&opts, "extension_modules")
            .unwrap_or("")
            .to_string();
        opts.insert(
            key("utils_dirs"),
            Value::List(vec![Value::Str(format!("{ext}/utils"))]),
        );
    }
    let mut prepend = vec![
        "pki_dir",
        "cachedir",
        "sock_dir",
        "extension_modules",
        "pidfile",
    ];
    for k in ["log_file", "key_logfile"] {
        if let Some(v) = get_str(&opts, k) {
            // Only local paths (no URL scheme such as udp://).
            if !v.contains("://") {
                prepend.push(k);
            }
        }
    }
    prepend_root_dir(&mut opts, &prepend);
    if !opts.contains_key(&key("beacons")) {
        opts.insert(key("beacons"), Value::map());
    }
    if let Some(h) = get_str(&opts, "hash_type").map(str::to_lowercase) {
        opts.insert(key("hash_type"), Value::Str(h));
    }
    opts
}

/// Load the minion configuration from `config_dir` (`-c`): the `minion`
/// file, `default_include` and `include`, over Salt's defaults. A missing
/// file gives the defaults.
pub fn load_minion_config(config_dir: &Path) -> Result<Value, ConfigError> {
    load_minion_config_with_id(config_dir, None)
}

/// [`load_minion_config`], with the id used when the config sets none
/// (Salt's `minion_id` argument).
pub fn load_minion_config_with_id(
    config_dir: &Path,
    minion_id: Option<&str>,
) -> Result<Value, ConfigError> {
    let dir = abspath(&config_dir.to_string_lossy());
    let path = Path::new(&dir).join("minion");
    let mut overrides = Map::default();
    if path.is_file() {
        overrides = read_conf_file(&path)?;
        overrides.insert(
            key("conf_file"),
            Value::Str(path.to_string_lossy().into_owned()),
        );
    } else {
        tracing::debug!("Missing configuration file: {}", path.display());
    }
    let default_include = overrides
        .get(&key("default_include"))
        .cloned()
        .unwrap_or_else(|| key("minion.d/*.conf"));
    let include = overrides
        .get(&key("include"))
        .cloned()
        .unwrap_or(Value::List(vec![]));
    for (k, v) in include_config(&default_include, &path, false) {
        overrides.insert(k, v);
    }
    for (k, v) in include_config(&include, &path, true) {
        overrides.insert(k, v);
    }
    Ok(Value::Map(apply_minion_config(overrides, minion_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_and_glob() {
        assert!(fnmatch("a.conf", "*.conf"));
        assert!(!fnmatch("a.conf.bak", "*.conf"));
        assert!(fnmatch("b", "[a-c]"));
        assert!(!fnmatch("b", "[!a-c]"));
        assert!(fnmatch("x1", "x?"));
    }

    #[test]
    fn root_dir_prefixing() {
        let mut m = Map::default();
        m.insert(key("root_dir"), key("/tmp/r"));
        m.insert(key("cachedir"), key("/var/cache/salt/minion"));
        m.insert(key("pki_dir"), key("/tmp/r/etc/pki"));
        m.insert(key("sock_dir"), key("rel/dir"));
        prepend_root_dir(&mut m, &["cachedir", "pki_dir", "sock_dir"]);
        assert_eq!(
            get_str(&m, "cachedir"),
            Some("/tmp/r/var/cache/salt/minion")
        );
        assert_eq!(get_str(&m, "pki_dir"), Some("/tmp/r/etc/pki"));
        assert_eq!(get_str(&m, "sock_dir"), Some("/tmp/r/rel/dir"));
        let mut m = Map::default();
        m.insert(key("root_dir"), key("/"));
        m.insert(key("cachedir"), key("/var/cache"));
        prepend_root_dir(&mut m, &["cachedir"]);
        assert_eq!(get_str(&m, "cachedir"), Some("/var/cache"));
    }

    #[test]
    fn dictupdate_merges_lists_without_duplicates() {
        let mut a = Map::default();
        a.insert(key("l"), Value::List(vec![Value::Int(1)]));
        let mut b = Map::default();
        b.insert(key("l"), Value::List(vec![Value::Int(1), Value::Int(2)]));
        dictupdate(&mut a, &b, true);
        assert_eq!(
            a[&key("l")],
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
    }

    /// A config dir with includes, root_dir and merges, read by Salt's
    /// `salt.config.minion_config` and by us.
    #[test]
    fn load_matches_salt() {
        let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin/python");
        if !py.exists() {
            eprintln!("NOTICE: .salt-venv absent, skipping config comparison with Salt");
            return;
        }
        let dir = std::env::temp_dir().join(format!("brine-config-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("minion.d")).expect("mkdir");
        std::fs::create_dir_all(dir.join("extra")).expect("mkdir");
        let root = dir.join("root");
        let write = |p: &str, t: &str| std::fs::write(dir.join(p), t).expect("write");
        write(
            "minion",
            &format!(
                "id: 12345\nroot_dir: {}\nfile_roots:\n  base: [/srv/a, /srv/b]\n  dev: /not/a/list\n\
                 mylist: [1]\nnested: {{a: 1, l: [1]}}\ninclude: extra/*.conf\nenvironment: dev\n\
                 log_file: udp://localhost:514\nhash_type: SHA256\nsock_dir: rel/sock\n",
                root.display()
            ),
        );
        write(
            "minion.d/10-a.conf",
            "mylist: [2]\nnested: {b: 2, l: [2]}\n",
        );
        write(
            "minion.d/20-b.conf",
            "mylist: [3, 1]\nnested: {c: 3, l: [1, 3]}\n",
        );
        write("minion.d/.hidden.conf", "hidden: true\n");
        write("minion.d/30-bad.conf", "x: [\n");
        write("extra/x.conf", "extra_key: 5\n");
        let keys = [
            "id",
            "file_roots",
            "pillar_roots",
            "cachedir",
            "pki_dir",
            "sock_dir",
            "extension_modules",
            "log_file",
            "conf_file",
            "mylist",
            "nested",
            "extra_key",
            "hidden",
            "saltenv",
            "environment",
            "renderer",
            "hash_type",
            "pidfile",
            "utils_dirs",
            "state_top",
            "file_client",
        ];
        let script = format!(
            "import json, sys, warnings\nwarnings.filterwarnings('ignore')\nimport salt.config\n\
             o = salt.config.minion_config({:?})\nprint(json.dumps({{k: o.get(k, '<missing>') for k in {:?}}}))",
            dir.join("minion").display().to_string(),
            keys
        );
        let out = std::process::Command::new(&py)
            .arg("-c")
            .arg(&script)
            .output()
            .expect("python");
        let want: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python json");
        let got = load_minion_config(&dir).expect("config loads");
        let mut failures = Vec::new();
        for k in keys {
            let g = got
                .get(k)
                .map(Value::to_json)
                .unwrap_or(serde_json::Value::String("<missing>".into()));
            if g != want[k] {
                failures.push(format!("{k}: salt {} brine {}", want[k], g));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn bad_main_file_names_file_and_line() {
        let dir = std::env::temp_dir().join(format!("brine-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("minion"), "id: x\nlist: [\n").expect("write");
        let err = load_minion_config(&dir).expect_err("bad yaml").to_string();
        assert!(
            err.starts_with("Error parsing configuration file: "),
            "{err}"
        );
        assert!(
            err.contains(&format!("{}", dir.join("minion").display())),
            "{err}"
        );
        assert!(err.contains("line 3"), "{err}");
        std::fs::write(dir.join("minion"), "- a\n").expect("write");
        let err = load_minion_config(&dir)
            .expect_err("not a dict")
            .to_string();
        assert!(
            err.ends_with("conf should be a document, not <class 'list'>."),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn defaults_parse() {
        let d = default_minion_opts();
        assert!(d.len() > 250);
        assert_eq!(get_str(&d, "renderer"), Some("jinja|yaml"));
    }
}
