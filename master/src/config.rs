//! Master configuration, read as Salt reads it (`salt/config/__init__.py`
//! `master_config` / `apply_master_config`): `CONFIG_DIR/master`, then
//! `default_include` (`master.d/*.conf`) and `include` globs, laid over
//! Salt 3007's `DEFAULT_MASTER_OPTS`; then `root_dir` is put in front of the
//! path options, `sock_dir`/`token_dir`/`syndic_dir` derived from
//! `cachedir`, `open_mode`/`auto_accept` forced to booleans and the file and
//! pillar roots normalised. Unknown keys are kept as they are.

pub use brine_core::config::ConfigError;
use brine_core::config::{dictupdate, include_config, prepend_root_dir, read_conf_file};
use brine_core::value::{Map, Value};
use std::path::Path;

/// Salt 3007.8's `DEFAULT_MASTER_OPTS` (every key, in Salt's order), as
/// JSON; generated from `salt.config.DEFAULT_MASTER_OPTS`.
const DEFAULT_MASTER_OPTS_JSON: &str = r#"{
"interface": "0.0.0.0",
"publish_port": 4505,
"zmq_backlog": 1000,
"pub_hwm": 1000,
"auth_mode": 1,
"user": "root",
"worker_threads": 5,
"sock_dir": "/var/run/salt/master",
"sock_pool_size": 1,
"ret_port": 4506,
"timeout": 5,
"keep_jobs": 24,
"keep_jobs_seconds": 86400,
"archive_jobs": false,
"root_dir": "/",
"pki_dir": "/etc/salt/pki/master",
"key_cache": "",
"cachedir": "/var/cache/salt/master",
"file_roots": {
"base": [
"/srv/salt",
"/srv/spm/salt"
]
},
"master_roots": {
"base": [
"/srv/salt-master"
]
},
"pillar_roots": {
"base": [
"/srv/pillar",
"/srv/spm/pillar"
]
},
"on_demand_ext_pillar": [
"libvirt",
"virtkey"
],
"decrypt_pillar": [],
"decrypt_pillar_delimiter": ":",
"decrypt_pillar_default": "gpg",
"decrypt_pillar_renderers": [
"gpg"
],
"gpg_decrypt_must_succeed": true,
"thoriumenv": null,
"thorium_top": "top.sls",
"thorium_interval": 0.5,
"thorium_roots": {
"base": [
"/srv/thorium"
]
},
"top_file_merging_strategy": "merge",
"env_order": [],
"saltenv": null,
"lock_saltenv": false,
"pillarenv": null,
"default_top": "base",
"file_client": "local",
"local": true,
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
"git_pillar_refspecs": [
"+refs/heads/*:refs/remotes/origin/*",
"+refs/tags/*:refs/tags/*"
],
"git_pillar_includes": true,
"git_pillar_verify_config": true,
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
"gitfs_ref_types": [
"branch",
"tag",
"sha"
],
"gitfs_refspecs": [
"+refs/heads/*:refs/remotes/origin/*",
"+refs/tags/*:refs/tags/*"
],
"gitfs_disable_saltenv_mapping": false,
"hgfs_remotes": [],
"hgfs_mountpoint": "",
"hgfs_root": "",
"hgfs_base": "default",
"hgfs_branch_method": "branches",
"hgfs_saltenv_whitelist": [],
"hgfs_saltenv_blacklist": [],
"show_timeout": true,
"show_jid": false,
"unique_jid": false,
"svnfs_remotes": [],
"svnfs_mountpoint": "",
"svnfs_root": "",
"svnfs_trunk": "trunk",
"svnfs_branches": "branches",
"svnfs_tags": "tags",
"svnfs_saltenv_whitelist": [],
"svnfs_saltenv_blacklist": [],
"max_event_size": 1048576,
"master_stats": false,
"master_stats_event_iter": 60,
"minionfs_env": "base",
"minionfs_mountpoint": "",
"minionfs_whitelist": [],
"minionfs_blacklist": [],
"ext_pillar": [],
"pillar_version": 2,
"pillar_opts": false,
"pillar_safe_render_error": true,
"pillar_source_merging_strategy": "smart",
"pillar_merge_lists": false,
"pillar_includes_override_sls": false,
"pillar_cache": false,
"pillar_cache_ttl": 3600,
"pillar_cache_backend": "disk",
"gpg_cache": false,
"gpg_cache_ttl": 86400,
"gpg_cache_backend": "disk",
"ping_on_rotate": false,
"peer": {},
"preserve_minion_cache": false,
"syndic_master": "masterofmasters",
"syndic_failover": "random",
"syndic_forward_all_events": false,
"syndic_log_file": "/var/log/salt/syndic",
"syndic_pidfile": "/var/run/salt-syndic.pid",
"outputter_dirs": [],
"runner_dirs": [],
"utils_dirs": [],
"client_acl_verify": true,
"publisher_acl": {},
"publisher_acl_blacklist": {},
"sudo_acl": false,
"external_auth": {},
"token_expire": 43200,
"token_expire_user_override": false,
"permissive_acl": false,
"keep_acl_in_token": false,
"eauth_acl_module": "",
"eauth_tokens": "localfs",
"extension_modules": "/var/cache/salt/master/extmods",
"module_dirs": [],
"file_recv": false,
"file_recv_max_size": 100,
"file_buffer_size": 1048576,
"file_ignore_regex": [],
"file_ignore_glob": [],
"fileserver_backend": [
"roots"
],
"fileserver_followsymlinks": true,
"fileserver_ignoresymlinks": false,
"fileserver_verify_config": true,
"max_open_files": 100000,
"hash_type": "sha256",
"optimization_order": [
0,
1,
2
],
"conf_file": "/etc/salt/master",
"open_mode": false,
"auto_accept": false,
"renderer": "jinja|yaml",
"renderer_whitelist": [],
"renderer_blacklist": [],
"failhard": false,
"state_top": "top.sls",
"state_top_saltenv": null,
"master_tops": {},
"master_tops_first": false,
"order_masters": false,
"job_cache": true,
"ext_job_cache": "",
"master_job_cache": "local_cache",
"job_cache_store_endtime": false,
"minion_data_cache": true,
"enforce_mine_cache": false,
"ipc_mode": "ipc",
"ipc_write_buffer": 631912857,
"req_server_niceness": null,
"pub_server_niceness": null,
"fileserver_update_niceness": null,
"mworker_niceness": null,
"mworker_queue_niceness": null,
"maintenance_niceness": null,
"event_return_niceness": null,
"event_publisher_niceness": null,
"reactor_niceness": null,
"ipv6": null,
"tcp_master_pub_port": 4512,
"tcp_master_pull_port": 4513,
"tcp_master_publish_pull": 4514,
"tcp_master_workers": 4515,
"log_file": "/var/log/salt/master",
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
"pidfile": "/var/run/salt-master.pid",
"publish_session": 86400,
"range_server": "range:80",
"reactor": [],
"reactor_refresh_interval": 60,
"reactor_worker_threads": 10,
"reactor_worker_hwm": 10000,
"engines": [],
"event_return": "",
"event_return_queue": 0,
"event_return_whitelist": [],
"event_return_blacklist": [],
"event_match_type": "startswith",
"runner_returns": true,
"serial": "msgpack",
"test": false,
"state_verbose": true,
"state_output": "full",
"state_output_diff": false,
"state_output_profile": true,
"state_auto_order": true,
"state_events": false,
"state_aggregate": false,
"search": "",
"loop_interval": 60,
"nodegroups": {},
"ssh_list_nodegroups": {},
"ssh_use_home_key": false,
"cython_enable": false,
"enable_gpu_grains": false,
"key_logfile": "/var/log/salt/key",
"verify_env": true,
"permissive_pki_access": false,
"key_pass": null,
"cluster_key_pass": null,
"signing_key_pass": null,
"default_include": "master.d/*.conf",
"winrepo_dir": "/srv/salt/win/repo",
"winrepo_dir_ng": "/srv/salt/win/repo-ng",
"winrepo_cachefile": "winrepo.p",
"winrepo_remotes": [
"https://github.com/saltstack/salt-winrepo.git"
],
"winrepo_remotes_ng": [
"https://github.com/saltstack/salt-winrepo-ng.git"
],
"winrepo_branch": "master",
"winrepo_fallback": "",
"winrepo_ssl_verify": true,
"winrepo_user": "",
"winrepo_password": "",
"winrepo_insecure_auth": false,
"winrepo_privkey": "",
"winrepo_pubkey": "",
"winrepo_passphrase": "",
"winrepo_refspecs": [
"+refs/heads/*:refs/remotes/origin/*",
"+refs/tags/*:refs/tags/*"
],
"syndic_wait": 5,
"jinja_env": {},
"jinja_sls_env": {},
"jinja_lstrip_blocks": false,
"jinja_trim_blocks": false,
"tcp_keepalive": true,
"tcp_keepalive_idle": 300,
"tcp_keepalive_cnt": -1,
"tcp_keepalive_intvl": -1,
"sign_pub_messages": true,
"keysize": 2048,
"transport": "zeromq",
"gather_job_timeout": 10,
"syndic_event_forward_timeout": 0.5,
"syndic_jid_forward_cache_hwm": 100,
"regen_thin": false,
"ssh_passwd": "",
"ssh_priv_passwd": "",
"ssh_port": "22",
"ssh_sudo": false,
"ssh_sudo_user": "",
"ssh_timeout": 60,
"ssh_user": "root",
"ssh_scan_ports": "22",
"ssh_scan_timeout": 0.01,
"ssh_identities_only": false,
"ssh_log_file": "/var/log/salt/ssh",
"ssh_config_file": "/root/.ssh/config",
"cluster_mode": false,
"sqlite_queue_dir": "/var/cache/salt/master/queues",
"queue_dirs": [],
"cli_summary": false,
"max_minions": 0,
"master_sign_key_name": "master_sign",
"master_sign_pubkey": false,
"master_pubkey_signature": "master_pubkey_signature",
"master_use_pubkey_signature": false,
"zmq_filtering": false,
"zmq_monitor": false,
"con_cache": false,
"rotate_aes_key": true,
"cache_sreqs": true,
"dummy_pub": false,
"http_connect_timeout": 20.0,
"http_request_timeout": 3600.0,
"http_max_body": 107374182400,
"cache": "localfs",
"memcache_expire_seconds": 0,
"memcache_max_items": 1024,
"memcache_full_cleanup": false,
"memcache_debug": false,
"thin_extra_mods": "",
"min_extra_mods": "",
"ssl": null,
"extmod_whitelist": {},
"extmod_blacklist": {},
"clean_dynamic_modules": true,
"django_auth_path": "",
"django_auth_settings": "",
"allow_minion_key_revoke": true,
"salt_cp_chunk_size": 98304,
"require_minion_sign_messages": false,
"drop_messages_signature_fail": false,
"discovery": false,
"schedule": {},
"auth_events": true,
"minion_data_cache_events": true,
"enable_ssh_minions": false,
"netapi_allow_raw_shell": false,
"fips_mode": false,
"detect_remote_minions": false,
"remote_minions_port": 22,
"pass_variable_prefix": "",
"pass_strict_fetch": false,
"pass_gnupghome": "",
"pass_dir": "",
"netapi_enable_clients": [],
"maintenance_interval": 3600,
"fileserver_interval": 3600,
"cluster_id": null,
"cluster_peers": [],
"cluster_pki_dir": null,
"cluster_pool_port": 4520,
"features": {},
"publish_signing_algorithm": "PKCS1v15-SHA1",
"request_server_aes_session": 0,
"request_server_ttl": 0
}"#;

fn key(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// Salt's `DEFAULT_MASTER_OPTS`, in Salt's order.
pub fn default_master_opts() -> Map {
    match serde_json::from_str::<serde_json::Value>(DEFAULT_MASTER_OPTS_JSON) {
        Ok(j) => match Value::from_json(&j) {
            Value::Map(m) => m,
            _ => Map::default(),
        },
        Err(_) => Map::default(),
    }
}

/// A string option, if set to a string.
pub fn opt_str<'a>(opts: &'a Map, k: &str) -> Option<&'a str> {
    opts.get(&key(k)).and_then(Value::as_str)
}

/// An integer option (floats truncated, numeric strings parsed), or `default`.
pub fn opt_int(opts: &Map, k: &str, default: i64) -> i64 {
    match opts.get(&key(k)) {
        Some(Value::Int(i)) => (*i).clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        Some(Value::Float(f)) => *f as i64,
        Some(Value::Str(s)) => s.trim().parse().unwrap_or(default),
        _ => default,
    }
}

/// A boolean option as Salt tests it (`opts[k] is True` for the strict
/// options is done by the callers; this is Python truthiness), or `default`.
pub fn opt_bool(opts: &Map, k: &str, default: bool) -> bool {
    match opts.get(&key(k)) {
        Some(v) => v.truthy(),
        None => default,
    }
}

/// `_validate_file_roots`: a map of saltenv -> list of directories; any
/// other shape gives the default `{base: [/srv/salt]}`-style value.
fn validate_roots(v: &Value, default_dir: &str) -> Value {
    let Value::Map(m) = v else {
        tracing::warn!("The file_roots parameter is not properly formatted, using defaults");
        return Value::Map(Map::from_iter([(
            key("base"),
            Value::List(vec![key(default_dir)]),
        )]));
    };
    let mut out = Map::default();
    for (env, dirs) in m {
        let env = match env {
            Value::Str(s) => s.clone(),
            other => brine_core::output::pyrepr::str_of(other),
        };
        // `_normalize_roots`: anything but a list is no directories;
        // `_expand_glob_path`: globs are expanded.
        let dirs = match dirs {
            Value::List(l) => l
                .iter()
                .flat_map(|d| match d.as_str() {
                    Some(p) if p.contains(['*', '?', '[']) => brine_core::config::glob(p)
                        .into_iter()
                        .map(Value::Str)
                        .collect(),
                    _ => vec![d.clone()],
                })
                .collect(),
            _ => Vec::new(),
        };
        out.insert(Value::Str(env), Value::List(dirs));
    }
    Value::Map(out)
}

/// `apply_master_config(overrides)`: Salt's defaults, the overrides, then
/// the derived and normalised options.
pub fn apply_master_config(overrides: Map) -> Map {
    let mut opts = default_master_opts();
    opts.insert(key("__role"), key("master"));
    for (k, v) in overrides {
        opts.insert(k, v);
    }
    let cachedir = opt_str(&opts, "cachedir")
        .unwrap_or("/var/cache/salt/master")
        .to_string();
    if opt_str(&opts, "sock_dir").map(str::len).unwrap_or(0) > cachedir.len() + 10 {
        opts.insert(
            key("sock_dir"),
            Value::Str(format!("{cachedir}/.salt-unix")),
        );
    }
    opts.insert(key("token_dir"), Value::Str(format!("{cachedir}/tokens")));
    opts.insert(key("syndic_dir"), Value::Str(format!("{cachedir}/syndics")));
    if !opts
        .get(&key("extension_modules"))
        .is_some_and(Value::truthy)
    {
        opts.insert(
            key("extension_modules"),
            Value::Str(format!("{cachedir}/extmods")),
        );
    }
    if !opts.get(&key("id")).is_some_and(Value::truthy) {
        let mut id = brine_core::config::get_id(&opts);
        id.push_str("_master");
        opts.insert(key("id"), Value::Str(id));
    }
    let mut prepend = vec![
        "pki_dir",
        "cachedir",
        "pidfile",
        "sock_dir",
        "extension_modules",
        "autosign_file",
        "autoreject_file",
        "token_dir",
        "syndic_dir",
        "sqlite_queue_dir",
        "autosign_grains_dir",
    ];
    for k in ["log_file", "key_logfile", "ssh_log_file"] {
        // Only local paths (no URL scheme such as udp://).
        if opt_str(&opts, k).is_some_and(|v| !v.contains("://")) {
            prepend.push(k);
        }
    }
    prepend_root_dir(&mut opts, &prepend);
    let strict_true = |o: &Map, k: &str| matches!(o.get(&key(k)), Some(Value::Bool(true)));
    let open_mode = strict_true(&opts, "open_mode");
    let auto_accept = strict_true(&opts, "auto_accept");
    opts.insert(key("open_mode"), Value::Bool(open_mode));
    opts.insert(key("auto_accept"), Value::Bool(auto_accept));
    let fr = validate_roots(
        opts.get(&key("file_roots")).unwrap_or(&Value::Null),
        "/srv/salt",
    );
    opts.insert(key("file_roots"), fr);
    let pr = validate_roots(
        opts.get(&key("pillar_roots")).unwrap_or(&Value::Null),
        "/srv/pillar",
    );
    opts.insert(key("pillar_roots"), pr);
    if let Some(h) = opt_str(&opts, "hash_type").map(str::to_lowercase) {
        opts.insert(key("hash_type"), Value::Str(h));
    }
    opts
}

/// `salt.utils.job.get_keep_jobs_seconds`: `keep_jobs_seconds`, unless
/// only the deprecated `keep_jobs` (hours) was changed from its default.
pub fn keep_jobs_seconds(opts: &Map) -> i64 {
    let secs = opt_int(opts, "keep_jobs_seconds", 86400);
    let hours = opt_int(opts, "keep_jobs", 24);
    if hours != 24 && secs == 86400 {
        hours.saturating_mul(3600)
    } else {
        secs
    }
}

/// Load the master configuration from `config_dir` (`-c`): the `master`
/// file, `default_include` and `include`, over Salt's defaults. A missing
/// file gives the defaults; an unreadable or invalid main file is an error
/// naming the file (included files with errors are logged and skipped).
pub fn load_master_config(config_dir: &Path) -> Result<Map, ConfigError> {
    let dir = if config_dir.is_absolute() {
        config_dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(config_dir))
            .unwrap_or_else(|_| config_dir.to_path_buf())
    };
    let path = dir.join("master");
    let mut overrides = Map::default();
    if path.is_file() {
        overrides = read_conf_file(&path)?;
        overrides.insert(
            key("conf_file"),
            Value::Str(path.to_string_lossy().into_owned()),
        );
    } else {
        tracing::debug!("Missing configuration file: {}", path.display());
        overrides.insert(
            key("conf_file"),
            Value::Str(path.to_string_lossy().into_owned()),
        );
    }
    let default_include = overrides
        .get(&key("default_include"))
        .cloned()
        .unwrap_or_else(|| key("master.d/*.conf"));
    let include = overrides
        .get(&key("include"))
        .cloned()
        .unwrap_or(Value::List(vec![]));
    let inc = include_config(&default_include, &path, false);
    dictupdate(&mut overrides, &inc, false);
    let inc = include_config(&include, &path, true);
    dictupdate(&mut overrides, &inc, false);
    Ok(apply_master_config(overrides))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_root_dir_and_includes() {
        let d = default_master_opts();
        assert_eq!(d.get(&key("publish_port")), Some(&Value::Int(4505)));
        assert_eq!(d.get(&key("ret_port")), Some(&Value::Int(4506)));
        assert_eq!(d.get(&key("worker_threads")), Some(&Value::Int(5)));
        assert_eq!(d.get(&key("sign_pub_messages")), Some(&Value::Bool(true)));
        let tmp = std::env::temp_dir().join(format!("brine-mcfg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("master.d")).unwrap();
        let root = tmp.join("root");
        std::fs::write(
            tmp.join("master"),
            format!(
                "root_dir: {}\nauto_accept: 'yes'\nmy_custom: 3\n",
                root.display()
            ),
        )
        .unwrap();
        std::fs::write(tmp.join("master.d/a.conf"), "worker_threads: 2\n").unwrap();
        let o = load_master_config(&tmp).unwrap();
        assert_eq!(o.get(&key("worker_threads")), Some(&Value::Int(2)));
        assert_eq!(o.get(&key("my_custom")), Some(&Value::Int(3)));
        assert_eq!(keep_jobs_seconds(&o), 86400);
        let mut o2 = o.clone();
        o2.insert(key("keep_jobs"), Value::Int(2));
        assert_eq!(keep_jobs_seconds(&o2), 7200);
        // Salt: `opts["auto_accept"] is True`, so the string 'yes' is False.
        assert_eq!(o.get(&key("auto_accept")), Some(&Value::Bool(false)));
        let pki = format!("{}/etc/salt/pki/master", root.display());
        assert_eq!(opt_str(&o, "pki_dir"), Some(pki.as_str()));
        let log = format!("{}/var/log/salt/master", root.display());
        assert_eq!(opt_str(&o, "log_file"), Some(log.as_str()));
        std::fs::write(tmp.join("master"), "a: [\n").unwrap();
        let e = load_master_config(&tmp).unwrap_err().to_string();
        assert!(e.contains("master"), "{e}");
        let _ = std::fs::remove_dir_all(&tmp);
    }

    /// The options issue 4 lists, compared with `salt.config.master_config`
    /// from .salt-venv (skipped when it is missing).
    #[test]
    fn matches_salt_master_config() {
        let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin/python");
        if !py.is_file() {
            eprintln!("SKIP: .salt-venv/bin/python is missing");
            return;
        }
        let tmp = std::env::temp_dir().join(format!("brine-mcfg-salt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("master.d")).unwrap();
        std::fs::write(
            tmp.join("master"),
            format!(
                "root_dir: {r}/root\nid: m\nkeep_jobs: 2\nautosign_file: /etc/salt/autosign\n\
                 file_roots: {{base: [/srv/a], dev: /srv/b}}\nsock_dir: {r}/a/very/long/sock/dir/beyond/cachedir\n\
                 cachedir: /c\nopen_mode: 1\nauto_accept: true\n",
                r = tmp.display()
            ),
        )
        .unwrap();
        std::fs::write(
            tmp.join("master.d/x.conf"),
            "worker_threads: 3\nnodegroups: {g: 'L@a,b'}\n",
        )
        .unwrap();
        let keys = [
            "interface",
            "publish_port",
            "ret_port",
            "pki_dir",
            "cachedir",
            "sock_dir",
            "file_roots",
            "pillar_roots",
            "auto_accept",
            "autosign_file",
            "autoreject_file",
            "open_mode",
            "keep_jobs",
            "keep_jobs_seconds",
            "worker_threads",
            "nodegroups",
            "reactor",
            "timeout",
            "log_file",
            "log_level",
            "zmq_filtering",
            "sign_pub_messages",
            "publish_session",
            "keysize",
            "token_dir",
            "extension_modules",
            "auth_mode",
            "publish_signing_algorithm",
            "request_server_ttl",
            "max_minions",
        ];
        let script = format!(
            "import json, salt.config as c\no = c.master_config({:?})\n\
             print(json.dumps({{k: o.get(k) for k in {:?}}}))",
            tmp.join("master").display().to_string(),
            keys
        );
        let out = std::process::Command::new(&py)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ours = load_master_config(&tmp).unwrap();
        for key_name in keys {
            let mine = ours.get(&key(key_name)).cloned().unwrap_or(Value::Null);
            assert_eq!(mine.to_json(), want[key_name], "option {key_name}");
        }
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
