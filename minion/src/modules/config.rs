//! `config` (salt/modules/config.py): `config.get` looks a key up in opts,
//! then grains, then pillar, then the master config in pillar, then the
//! module's DEFAULTS; `merge=` merges all of them instead.

use super::{bind, traverse, Context, ModFn};
use brine_core::config::dictupdate;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[("get", get), ("option", option)];

/// salt/modules/config.py's `DEFAULTS`.
const DEFAULTS_JSON: &str = r#"{"mongo.db": "salt", "mongo.password": "", "mongo.port": 27017, "mongo.user": "", "redis.db": "0", "redis.host": "salt", "redis.port": 6379, "test.foo": "unconfigured", "ca.cert_base_path": "/etc/pki", "solr.cores": [], "solr.host": "localhost", "solr.port": "8983", "solr.baseurl": "/solr", "solr.type": "master", "solr.request_timeout": null, "solr.init_script": "/etc/rc.d/solr", "solr.dih.import_options": {"clean": false, "optimize": true, "commit": true, "verbose": false}, "solr.backup_path": null, "solr.num_backups": 1, "poudriere.config": "/usr/local/etc/poudriere.conf", "poudriere.config_dir": "/usr/local/etc/poudriere.d", "ldap.uri": "", "ldap.server": "localhost", "ldap.port": "389", "ldap.tls": false, "ldap.no_verify": false, "ldap.anonymous": true, "ldap.scope": 2, "ldap.attrs": null, "ldap.binddn": "", "ldap.bindpw": "", "hosts.file": "/etc/hosts", "aliases.file": "/etc/aliases", "virt": {"tunnel": false, "images": "/srv/salt-images"}, "docker.exec_driver": "docker-exec", "docker.compare_container_networks": {"static": ["Aliases", "Links", "IPAMConfig"], "automatic": ["IPAddress", "Gateway", "GlobalIPv6Address", "IPv6Gateway"]}}"#;

fn defaults() -> Value {
    serde_json::from_str::<serde_json::Value>(DEFAULTS_JSON)
        .map(|j| Value::from_json(&j))
        .unwrap_or_default()
}

fn get(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "config.get",
        &[
            "key",
            "default",
            "delimiter",
            "merge",
            "omit_opts",
            "omit_pillar",
            "omit_master",
            "omit_grains",
        ],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let key = b.get(0, Value::Null);
    let default = b.get(1, Value::from(""));
    let delimiter = b.str(2).unwrap_or(":".into());
    let omit = |i: usize| b.opt(i).is_some_and(Value::truthy);
    let active = ctx.active_opts();
    let opts: &Value = active.as_deref().unwrap_or(&ctx.opts);
    let pillar = ctx.pillar();
    let pillar: &Value = &pillar;
    let master = pillar.get("master").cloned().unwrap_or(Value::map());
    match b.opt(3) {
        None => {
            let sources: [(bool, &Value); 4] = [
                (omit(4), opts),
                (omit(7), ctx.grains()),
                (omit(5), pillar),
                (omit(6), &master),
            ];
            for (omitted, data) in sources {
                if omitted {
                    continue;
                }
                if let Some(v) = traverse(data, &key, &delimiter) {
                    return Ok(v);
                }
            }
            Ok(traverse(&defaults(), &key, &delimiter).unwrap_or(default))
        }
        Some(strategy) => {
            let recurse = match strategy.as_str() {
                Some("recurse") => true,
                Some("overwrite") => false,
                _ => {
                    tracing::warn!(
                        "Unsupported merge strategy '{}'. Falling back to 'recurse'.",
                        brine_core::output::pyrepr::str_of(strategy)
                    );
                    true
                }
            };
            let mut data = defaults().as_map().cloned().unwrap_or_default();
            for src in [&master, pillar, ctx.grains(), opts] {
                let Value::Map(m) = src else { continue };
                if recurse {
                    dictupdate(&mut data, m, false);
                } else {
                    for (k, v) in m {
                        data.insert(k.clone(), v.clone());
                    }
                }
            }
            Ok(traverse(&Value::Map(data), &key, &delimiter).unwrap_or(default))
        }
    }
}

/// `config.option`: a top-level key of opts, grains, pillar, the master
/// config in pillar, then DEFAULTS (no `:` traversal; `wildcard` globs).
fn option(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "config.option",
        &[
            "value",
            "default",
            "omit_opts",
            "omit_grains",
            "omit_pillar",
            "omit_master",
            "omit_all",
            "wildcard",
        ],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let value = b.get(0, Value::Null);
    let omit_all = b.opt(6).is_some_and(Value::truthy);
    let omit = |i: usize| omit_all || b.opt(i).is_some_and(Value::truthy);
    let wildcard = b.opt(7).is_some_and(Value::truthy);
    let default = match b.opt(1) {
        Some(d) => d.clone(),
        None if wildcard => Value::map(),
        None => Value::from(""),
    };
    let active = ctx.active_opts();
    let opts: &Value = active.as_deref().unwrap_or(&ctx.opts);
    let pillar = ctx.pillar();
    let master = pillar.get("master").cloned().unwrap_or(Value::map());
    let defaults = defaults();
    if !wildcard {
        let sources: [(bool, &Value); 5] = [
            (omit(2), opts),
            (omit(3), ctx.grains()),
            (omit(4), &pillar),
            (omit(5), &master),
            (false, &defaults),
        ];
        for (omitted, data) in sources {
            if let Some(v) = data
                .as_map()
                .and_then(|m| m.get(&value))
                .filter(|_| !omitted)
            {
                return Ok(v.clone());
            }
        }
        return Ok(default);
    }
    let pat = brine_core::output::pyrepr::str_of(&value);
    let mut ret = Map::default();
    for (omitted, data) in [
        (omit(5), &master),
        (omit(4), &*pillar),
        (omit(3), ctx.grains()),
        (omit(2), opts),
    ] {
        if omitted {
            continue;
        }
        for (k, v) in data.as_map().into_iter().flatten() {
            if brine_core::config::fnmatch(&brine_core::output::pyrepr::str_of(k), &pat) {
                ret.insert(k.clone(), v.clone());
            }
        }
    }
    for (k, v) in defaults.as_map().into_iter().flatten() {
        if !ret.contains_key(k)
            && brine_core::config::fnmatch(&brine_core::output::pyrepr::str_of(k), &pat)
        {
            ret.insert(k.clone(), v.clone());
        }
    }
    Ok(if ret.is_empty() {
        default
    } else {
        Value::Map(ret)
    })
}
