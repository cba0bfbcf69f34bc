//! `pkgrepo` states (salt/states/pkgrepo.py), Debian flavour: `managed`
//! and `absent` over the apt sources functions in
//! [`crate::modules::pkg_repo`] (the repo is the `deb ...` line in `name`;
//! keys come from `key_url`/`key_text`, with `signed-by` keyrings).

use super::{Ret, StateCall, StateFunction, STATE_INTERNAL_KEYWORDS};
use crate::modules::pkg::PkgError;
use crate::modules::pkg_repo::{
    self as repo_mod, expand_repo_def, get_repo, split_repo_str, strip_uri,
};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "managed",
        fun: managed,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "absent",
        fun: absent,
        required: &["name"],
        params: None,
    },
];

fn v(s: &str) -> Value {
    Value::from(s)
}

/// The state's `**kwargs`: the low chunk minus Salt's internal keys and
/// the named parameters.
fn state_kwargs(call: &StateCall, named: &[&str]) -> Map {
    call.low
        .iter()
        .filter(|(k, _)| {
            let Some(k) = k.as_str() else { return false };
            !STATE_INTERNAL_KEYWORDS.contains(&k) && !named.contains(&k) && !k.starts_with("__")
        })
        .map(|(k, val)| (k.clone(), val.clone()))
        .collect()
}

fn sorted_strs(val: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = match val {
        Some(Value::List(l)) => l.iter().map(str_of).collect(),
        Some(other) => str_of(other).chars().map(|c| c.to_string()).collect(),
        None => vec![],
    };
    out.sort();
    out
}

fn py_str(val: Option<&Value>) -> String {
    match val {
        None | Some(Value::Null) => "None".into(),
        Some(Value::List(l)) => brine_core::output::pyrepr::repr(&Value::List(l.clone())),
        Some(other) => str_of(other),
    }
}

/// Whether the configured entry `pre` already matches (the `for ... else`
/// of Salt's comparison loop).
fn matches_pre(pre: &Map, sanitized: &Map, kwargs: &Map) -> bool {
    for (key, want) in sanitized {
        let Some(k) = key.as_str() else { continue };
        let Some(have) = pre.get(key) else {
            return false;
        };
        match k {
            "comps" | "key_url" => {
                if sorted_strs(Some(want)) != sorted_strs(Some(have)) {
                    return false;
                }
            }
            "line" => {
                if !sanitized.get(&v("disabled")).is_some_and(Value::truthy) {
                    let mut s: Vec<String> = str_of(want)
                        .split_whitespace()
                        .map(str::to_string)
                        .collect();
                    if s.len() > 3 {
                        s[3..].sort();
                    }
                    let have_s = str_of(have);
                    let (repo_part, _, pre_comments) = match have_s.split_once('#') {
                        Some((a, b)) => (a.trim().to_string(), (), b.trim().to_string()),
                        None => (have_s.trim().to_string(), (), String::new()),
                    };
                    let mut r: Vec<String> =
                        repo_part.split_whitespace().map(str::to_string).collect();
                    if r.len() > 3 {
                        r[3..].sort();
                    }
                    if s != r {
                        return false;
                    }
                    if let Some(c) = kwargs.get(&v("comments")) {
                        let post = match c {
                            Value::List(l) => l.iter().map(str_of).collect::<Vec<_>>().join(" "),
                            other => str_of(other),
                        };
                        if pre_comments != post.trim() {
                            return false;
                        }
                    }
                }
            }
            "architectures" if want.truthy() => {
                let mut a = sorted_strs(Some(want));
                let mut b = sorted_strs(Some(have));
                a.dedup();
                b.dedup();
                if a != b {
                    return false;
                }
            }
            _ => {
                if py_str(Some(want)) != py_str(Some(have)) {
                    return false;
                }
            }
        }
    }
    true
}

/// `pkgrepo.managed`.
fn managed(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let aptkey =
        call.bool_or("aptkey", true)? && crate::modules::cmd::path_which("apt-key").is_some();
    let mut ret = Ret::new(name.as_str()).with(None, "");
    let has = |k: &str| call.low.contains_key(&v(k));
    if has("key_url") && (has("keyid") || has("keyserver")) {
        ret.result = Some(false);
        ret.comment = v("You may not use both \"keyid\"/\"keyserver\" and \"key_url\" argument.");
    }
    if has("key_text") && (has("keyid") || has("keyserver")) {
        ret.result = Some(false);
        ret.comment = v("You may not use both \"keyid\"/\"keyserver\" and \"key_text\" argument.");
    }
    if has("key_text") && has("key_url") {
        ret.result = Some(false);
        ret.comment = v("You may not use both \"key_url\" and \"key_text\" argument.");
    }
    if has("repo") {
        return Ok(ret.with(
            Some(false),
            "'repo' is not a supported argument for this state. The 'name' argument is probably what was intended.",
        ));
    }
    let enabled = call.get("enabled");
    let disabled = call.get("disabled");
    if enabled.is_some() && disabled.is_some() {
        return Ok(ret.with(Some(false), "Only one of enabled/disabled is allowed"));
    }
    let allow_insecure = call.bool_or("allow_insecure_key", true)?;
    let key_url = call.get("key_url").map(str_of).unwrap_or_default();
    if key_url.trim().starts_with("http:") && !allow_insecure {
        return Ok(ret.with(
            Some(false),
            "Cannot have 'key_url' using http with 'allow_insecure_key' set to True",
        ));
    }
    let mut kwargs = state_kwargs(
        call,
        &[
            "name",
            "ppa",
            "copr",
            "aptkey",
            "enabled",
            "disabled",
            "allow_insecure_key",
        ],
    );
    kwargs.insert(v("name"), v(&name));
    let repo = name.clone();
    let pre = match get_repo(&repo) {
        Ok(p) => p,
        Err(e) => {
            return Ok(ret.with(
                Some(false),
                format!("Failed to examine repo '{name}': {}", e.strerror()),
            ));
        }
    };
    let mut sanitized = match expand_repo_def(&repo, &kwargs) {
        Ok(s) => s,
        Err(e) => return Err(e.strerror()),
    };
    let mut pre_cmp = pre.clone();
    if !pre.is_empty() {
        pre_cmp.shift_remove(&v("file"));
        sanitized.shift_remove(&v("file"));
        if matches_pre(&pre_cmp, &sanitized, &kwargs) {
            return Ok(ret.with(
                Some(true),
                format!("Package repo '{name}' already configured"),
            ));
        }
    }
    if call.test {
        ret.comment = v(&format!(
            "Package repo '{name}' would be configured. This may cause pkg states to behave differently than stated if this action is repeated without test=True, due to the differences in the configured repositories."
        ));
        if !pre.is_empty() {
            for (k, want) in &sanitized {
                let have = pre_cmp.get(k).cloned().unwrap_or(Value::Null);
                if *want != have {
                    let mut m = Map::default();
                    m.insert(v("new"), want.clone());
                    m.insert(v("old"), have);
                    ret.changes.insert(k.clone(), Value::Map(m));
                }
            }
        } else {
            ret.changes.insert(v("repo"), v(&name));
        }
        return Ok(ret);
    }
    if call.get("clean_file").is_some_and(Value::truthy) {
        if let Some(f) = call.get("file").map(str_of) {
            if let Err(e) =
                brine_core::fsutil::write_atomic(std::path::Path::new(&f), b"", Some(0o644))
            {
                return Ok(ret.with(
                    Some(false),
                    format!("Failed to configure repo '{name}': {e}"),
                ));
            }
        }
    }
    if let Err(e) = repo_mod::mod_repo(call.ctx, &repo, call.saltenv, aptkey, &kwargs) {
        return Ok(ret.with(
            Some(false),
            format!("Failed to configure repo '{name}': {}", e.strerror()),
        ));
    }
    match get_repo(&repo) {
        Ok(post) => {
            if !pre.is_empty() {
                for k in sanitized.keys() {
                    let new = post.get(k).cloned().unwrap_or(Value::Null);
                    let old = pre.get(k).cloned().unwrap_or(Value::Null);
                    if new != old {
                        let mut m = Map::default();
                        m.insert(v("new"), new);
                        m.insert(v("old"), old);
                        ret.changes.insert(k.clone(), Value::Map(m));
                    }
                }
            } else {
                ret.changes = Map::default();
                ret.changes.insert(v("repo"), v(&repo));
            }
            Ok(ret.with(Some(true), format!("Configured package repo '{name}'")))
        }
        Err(e) => Ok(ret.with(
            Some(false),
            format!(
                "Failed to confirm config of repo '{name}': {}",
                e.strerror()
            ),
        )),
    }
}

/// `pkgrepo.absent`.
fn absent(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let mut ret = Ret::new(name.as_str()).with(None, "");
    let remove_key = ["keyid", "keyid_ppa"].iter().any(|k| call.get(k).is_some());
    let stripname = strip_uri(&name);
    let mut repo = match get_repo(&stripname) {
        Ok(r) => r,
        Err(e) => {
            return Ok(ret.with(
                Some(false),
                format!("Failed to configure repo '{name}': {}", e.strerror()),
            ));
        }
    };
    if !repo.is_empty() {
        let want = split_repo_str(&stripname).map_err(|e| e.strerror())?;
        let mut a: Vec<String> = want.architectures.clone();
        let mut b: Vec<String> = repo
            .get(&v("architectures"))
            .and_then(Value::as_list)
            .map(|l| l.iter().map(str_of).collect())
            .unwrap_or_default();
        a.sort();
        a.dedup();
        b.sort();
        b.dedup();
        if a != b {
            repo = Map::default();
        }
    }
    if repo.is_empty() {
        return Ok(ret.with(Some(true), format!("Package repo {name} is absent")));
    }
    if call.test {
        ret.comment = v(&format!(
            "Package repo '{name}' will be removed. This may cause pkg states to behave differently than stated if this action is repeated without test=True, due to the differences in the configured repositories."
        ));
        return Ok(ret);
    }
    if let Err(e) = repo_mod::del_repo(call.ctx, &stripname) {
        let msg = match e {
            PkgError::Exec(x) => x.strerror(),
            PkgError::Invocation(m) => m,
        };
        return Ok(ret.with(Some(false), msg));
    }
    let repos = repo_mod::list_repos().map_err(|e| e.strerror())?;
    if !repos.contains_key(&v(&stripname)) {
        ret.changes.insert(v("repo"), v(&name));
        let comment = format!("Removed repo {name}");
        if !remove_key {
            return Ok(ret.with(Some(true), comment));
        }
        return Ok(ret.with(
            Some(false),
            format!("{comment}, but failed to remove key: removing repo keys (keyid) is not supported by Brine"),
        ));
    }
    Ok(ret.with(Some(false), format!("Failed to remove repo {name}")))
}
