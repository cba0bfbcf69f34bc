//! `pkg` states (salt/states/pkg.py) over the apt execution functions in
//! [`crate::modules::pkg`]: installed, latest, removed, purged.
//!
//! As in Salt, the first `pkg.installed`/`pkg.latest` of a run writes the
//! refresh tag (`<cachedir>/pkg_refresh`, Salt's `mod_init`), so
//! `refresh: None` refreshes the package database once per run; any
//! refresh removes the tag.

use super::{Ret, StateCall, StateFunction};
use crate::modules::pkg::{
    self as exec, compare, fnmatch, list_pkgs, split_comparison, InstallOpts, LatestOpts, PkgError,
    PkgVersions,
};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use indexmap::IndexMap;

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "installed",
        fun: installed,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "latest",
        fun: latest,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "removed",
        fun: removed,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "purged",
        fun: purged,
        required: &["name"],
        params: None,
    },
];

type Desired = IndexMap<String, Option<String>>;

fn ret_of(name: &str, result: Option<bool>, comment: impl Into<String>) -> Ret {
    Ret::new(name).with(result, comment)
}

fn v(s: &str) -> Value {
    Value::from(s)
}

/// `mod_init`: the first installed/latest of a run writes the rtag.
fn mod_init(call: &StateCall) {
    let earlier = call.running.keys().any(|k| {
        k.as_str().is_some_and(|t| {
            t.starts_with("pkg_|-") && (t.ends_with("_|-installed") || t.ends_with("_|-latest"))
        })
    });
    if !earlier {
        let path = exec::rtag_path(call.ctx);
        if !path.exists() {
            if let Some(d) = path.parent() {
                let _ = std::fs::create_dir_all(d);
            }
            if let Err(e) = std::fs::write(&path, b"") {
                tracing::warn!("Encountered error writing rtag: {}", e);
            }
        }
    }
}

/// `salt.utils.pkg.check_refresh`.
fn check_refresh(call: &StateCall) -> bool {
    match call.get("refresh") {
        Some(Value::Bool(false)) => false,
        Some(r) => crate::modules::is_true(r) || exec::rtag_path(call.ctx).is_file(),
        None => exec::rtag_path(call.ctx).is_file(),
    }
}

/// `ignore_epoch`: None unless given.
fn opt_bool(call: &StateCall, key: &str) -> Result<Option<bool>, String> {
    Ok(match call.get(key) {
        None => None,
        Some(_) => Some(call.bool_or(key, false)?),
    })
}

fn check_ignore_epoch(oper: &str, desired: &str, ignore_epoch: Option<bool>) -> bool {
    match ignore_epoch {
        Some(b) => b,
        None => !oper.contains('<') && !oper.contains('>') && !desired.contains(':'),
    }
}

/// `_get_comparison_spec`.
fn comparison_spec(pkgver: &str) -> (String, String) {
    let (oper, ver) = split_comparison(pkgver.trim());
    let oper = if oper.is_empty() || oper == "=" {
        "==".to_string()
    } else {
        oper
    };
    (oper, ver)
}

fn parse_version_string(s: &str) -> Vec<(String, String)> {
    let s = s.trim();
    if s.is_empty() {
        return vec![];
    }
    s.split(',').map(comparison_spec).collect()
}

fn fulfills_version_spec(
    versions: &[String],
    oper: &str,
    desired: &str,
    ignore_epoch: Option<bool>,
) -> bool {
    versions.iter().any(|ver| {
        (oper == "==" && fnmatch(ver, desired))
            || compare(
                ver,
                oper,
                desired,
                check_ignore_epoch(oper, desired, ignore_epoch),
            )
    })
}

/// `_fulfills_version_string`.
fn fulfills_version_string(
    installed: &[String],
    conditions: &str,
    ignore_epoch: Option<bool>,
    allow_updates: bool,
) -> bool {
    let conds = parse_version_string(conditions);
    installed.iter().any(|iv| {
        conds.iter().all(|(oper, ver)| {
            let oper = if allow_updates && conds.len() == 1 && oper == "==" {
                ">="
            } else {
                oper.as_str()
            };
            fulfills_version_spec(std::slice::from_ref(iv), oper, ver, ignore_epoch)
        })
    })
}

/// `_get_desired_pkg`.
fn desired_pkg(name: &str, desired: &Desired) -> String {
    let ver = desired.get(name).cloned().flatten().unwrap_or_default();
    let oper = if ver.is_empty() || ver.starts_with(['<', '>', '=']) {
        ""
    } else {
        "="
    };
    format!("{name}{oper}{ver}")
}

fn change_map(pairs: &[(&str, Value)]) -> Value {
    let mut m = Map::default();
    for (k, val) in pairs {
        m.insert(v(k), val.clone());
    }
    Value::Map(m)
}

/// `_get_installable_versions(targets, current)`: test-mode changes.
fn installable_versions(
    call: &StateCall,
    targets: &Desired,
    current: &IndexMap<String, String>,
) -> Result<Map, PkgError> {
    let latest_targets: Vec<String> = targets
        .iter()
        .filter(|(_, y)| y.as_deref().is_none_or(str::is_empty))
        .map(|(x, _)| desired_pkg(x, targets))
        .collect();
    let mut installable: IndexMap<String, String> = IndexMap::new();
    if !latest_targets.is_empty() {
        let lo = LatestOpts {
            refresh: true,
            ..Default::default()
        };
        installable = exec::latest_version(call.ctx, &latest_targets, &lo)?.versions;
    }
    let explicit: Vec<String> = targets
        .keys()
        .filter(|x| !latest_targets.contains(x))
        .map(|x| desired_pkg(x, targets))
        .collect();
    if !explicit.is_empty() {
        for (tgt, vers) in exec::list_repo_pkgs(call.ctx, &explicit)? {
            if let Some(first) = vers.first() {
                installable.insert(tgt, first.clone());
            }
        }
    }
    let mut changes = Map::default();
    for x in targets.keys() {
        let new = installable
            .get(x)
            .filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| "installed".into());
        let old = current.get(x).cloned().unwrap_or_default();
        changes.insert(v(x), change_map(&[("new", v(&new)), ("old", v(&old))]));
    }
    Ok(changes)
}

/// What `_find_install_targets` found to do.
struct InstallTargets {
    desired: Desired,
    targets: Desired,
    to_unpurge: Vec<String>,
    to_reinstall: Desired,
    was_refreshed: bool,
}

struct InstallArgs {
    name: String,
    version: Option<String>,
    pkgs: Option<Vec<Value>>,
    normalize: bool,
    ignore_epoch: Option<bool>,
    reinstall: bool,
    refresh: bool,
    allow_updates: bool,
    fromrepo: Option<String>,
}

/// `_find_install_targets`: either a finished state return or the work.
fn find_install_targets(
    call: &StateCall,
    a: &InstallArgs,
) -> Result<Result<InstallTargets, Ret>, String> {
    let cur_pkgs = match list_pkgs(call.ctx, false, false) {
        Ok(c) => c,
        Err(e) => return Ok(Err(ret_of(&a.name, Some(false), e.strerror()))),
    };
    let purge_desired = |d: &Desired| -> Result<Vec<String>, String> {
        let pd = list_pkgs(call.ctx, false, true).map_err(|e| e.strerror())?;
        Ok(d.keys().filter(|x| pd.contains_key(*x)).cloned().collect())
    };
    let mut was_refreshed = false;
    let mut refresh = a.refresh;
    let mut desired: Desired;
    let to_unpurge;
    if let Some(pkgs) = a.pkgs.as_ref().filter(|p| !p.is_empty()) {
        desired = exec::repack_pkgs(call.ctx, pkgs, a.normalize).map_err(|e| e.strerror())?;
        if desired.is_empty() {
            return Ok(Err(ret_of(
                &a.name,
                Some(false),
                "Invalidly formatted 'pkgs' parameter. See minion log.",
            )));
        }
        to_unpurge = purge_desired(&desired)?;
    } else {
        let n = if a.normalize {
            exec::normalize_name(call.ctx, &a.name)
        } else {
            a.name.clone()
        };
        desired = IndexMap::new();
        desired.insert(n, a.version.clone());
        to_unpurge = purge_desired(&desired)?;
        let cver = cur_pkgs.get(&a.name).cloned().unwrap_or_default();
        if !to_unpurge.contains(&a.name) && !a.reinstall {
            if let Some(ver) = a.version.as_ref().filter(|v| !v.is_empty()) {
                if cver.contains(ver) {
                    return Ok(Err(ret_of(
                        &a.name,
                        Some(true),
                        format!("Version {ver} of package '{}' is already installed", a.name),
                    )));
                }
            } else if !cver.is_empty() && a.version.is_none() {
                return Ok(Err(ret_of(
                    &a.name,
                    Some(true),
                    format!("Package {} is already installed", a.name),
                )));
            }
        }
    }
    let wants_latest: Vec<String> = desired
        .iter()
        .filter(|(_, y)| y.as_deref() == Some("latest"))
        .map(|(x, _)| x.clone())
        .collect();
    if !wants_latest.is_empty() {
        let lo = LatestOpts {
            refresh,
            fromrepo: a.fromrepo.clone(),
            ..Default::default()
        };
        let resolved = exec::latest_version(call.ctx, &wants_latest, &lo)
            .map_err(|e| e.strerror())?
            .versions;
        if refresh {
            was_refreshed = true;
            refresh = false;
        }
        let _ = refresh;
        for (key, val) in resolved {
            let val = if val.is_empty() {
                cur_pkgs.get(&key).and_then(|l| l.last().cloned())
            } else {
                Some(val)
            };
            desired.insert(key, val);
        }
    }
    let mut targets = Desired::new();
    let mut to_reinstall = Desired::new();
    let mut version_spec = false;
    for (pkg, version_string) in &desired {
        let cver = cur_pkgs.get(pkg).cloned().unwrap_or_default();
        if cver.is_empty() {
            targets.insert(pkg.clone(), version_string.clone());
            continue;
        }
        if a.reinstall {
            to_reinstall.insert(pkg.clone(), version_string.clone());
            continue;
        }
        let Some(verstr) = version_string else {
            continue;
        };
        let fulfilled = fulfills_version_string(&cver, verstr, a.ignore_epoch, a.allow_updates);
        version_spec = true;
        if !fulfilled {
            targets.insert(pkg.clone(), version_string.clone());
        }
    }
    if targets.is_empty() && to_unpurge.is_empty() && to_reinstall.is_empty() {
        let msg = format!(
            "All specified packages are already installed{}",
            if version_spec {
                " and are at the desired version"
            } else {
                ""
            }
        );
        return Ok(Err(ret_of(&a.name, Some(true), msg)));
    }
    Ok(Ok(InstallTargets {
        desired,
        targets,
        to_unpurge,
        to_reinstall,
        was_refreshed,
    }))
}

/// Split a hold/unhold return into (modified, not modified, failed).
fn split_hold(hold_ret: &Map) -> (Vec<Map>, Vec<Map>, Vec<Map>) {
    let entries: Vec<Map> = hold_ret
        .values()
        .filter_map(Value::as_map)
        .cloned()
        .collect();
    let has_changes = |m: &Map| m.get(&v("changes")).is_some_and(Value::truthy);
    let result = |m: &Map| m.get(&v("result")).is_some_and(Value::truthy);
    let modified = entries.iter().filter(|m| has_changes(m)).cloned().collect();
    let not_modified = entries
        .iter()
        .filter(|m| !has_changes(m) && result(m))
        .cloned()
        .collect();
    let failed = entries.iter().filter(|m| !result(m)).cloned().collect();
    (modified, not_modified, failed)
}

fn entry_str(m: &Map, key: &str) -> String {
    m.get(&v(key)).map(str_of).unwrap_or_default()
}

fn entry_result(m: &Map) -> Option<bool> {
    match m.get(&v("result")) {
        Some(Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

/// The low chunk's `hold` argument, when given (`"hold" in kwargs`).
fn hold_arg(call: &StateCall) -> Result<Option<bool>, String> {
    match call.low.get(&v("hold")) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(false)),
        Some(_) => Ok(Some(call.bool_or("hold", false)?)),
    }
}

fn install_opts(call: &StateCall) -> Result<InstallOpts, String> {
    Ok(InstallOpts {
        fromrepo: call.opt_str("fromrepo")?,
        skip_verify: call.bool_or("skip_verify", false)?,
        normalize: call.bool_or("normalize", true)?,
        force_yes: call.bool_or("force_yes", false)?,
        force_conf_new: call.bool_or("force_conf_new", false)?,
        install_recommends: opt_bool(call, "install_recommends")?,
        only_upgrade: call.bool_or("only_upgrade", false)?,
        cache_valid_time: call.opt_int("cache_valid_time")?.unwrap_or(0) as i64,
        ..Default::default()
    })
}

/// `pkg.installed`.
fn installed(call: &StateCall) -> Result<Ret, String> {
    mod_init(call);
    let name = call.name();
    let mut pkgs = call.opt_list("pkgs")?;
    if pkgs.as_ref().is_some_and(|p| p.is_empty()) {
        return Ok(ret_of(&name, Some(true), "No packages to install provided"));
    }
    if call.get("sources").is_some() {
        return Ok(ret_of(
            &name,
            Some(false),
            "pkg.installed: 'sources' (package files) is not supported by Brine",
        ));
    }
    let mut version = call.get("version").map(str_of);
    if !name.is_empty() && pkgs.is_none() {
        pkgs = Some(match version.take() {
            Some(ver) if !ver.is_empty() => {
                let mut m = Map::default();
                m.insert(v(&name), v(&ver));
                vec![Value::Map(m)]
            }
            _ => vec![v(&name)],
        });
    }
    let mut refresh = check_refresh(call);
    let pkg_verify = call
        .get("pkg_verify")
        .is_some_and(|p| matches!(p, Value::List(_)) || p == &Value::Bool(true));
    if pkg_verify {
        return Ok(ret_of(&name, Some(false), "pkg.verify not implemented"));
    }
    let reinstall = call.bool_or("reinstall", false)?;
    let args = InstallArgs {
        name: name.clone(),
        version: version.clone(),
        pkgs: pkgs.clone(),
        normalize: call.bool_or("normalize", true)?,
        ignore_epoch: opt_bool(call, "ignore_epoch")?,
        reinstall,
        refresh,
        allow_updates: call.bool_or("allow_updates", false)?,
        fromrepo: call.opt_str("fromrepo")?,
    };
    let hold = hold_arg(call)?;
    let found = match find_install_targets(call, &args)? {
        Ok(t) => t,
        Err(mut result) => {
            if let Some(h) = hold {
                let hold_ret =
                    match exec::hold_unhold(call.ctx, h, Some(&name), pkgs.as_deref(), call.test) {
                        Ok(r) => r,
                        Err(e) => return Ok(ret_of(&name, Some(false), e.strerror())),
                    };
                let (modified, not_modified, failed) = split_hold(&hold_ret);
                let mut comment = str_of(&result.comment);
                for i in &modified {
                    comment.push_str(&format!(".\n{}", entry_str(i, "comment")));
                    result.result = entry_result(i);
                    result.changes.insert(
                        v(&entry_str(i, "name")),
                        i.get(&v("changes")).cloned().unwrap_or(Value::map()),
                    );
                }
                for i in not_modified.iter().chain(failed.iter()) {
                    comment.push_str(&format!(".\n{}", entry_str(i, "comment")));
                    result.result = entry_result(i);
                }
                result.comment = Value::from(comment);
            }
            return Ok(result);
        }
    };
    let InstallTargets {
        desired,
        targets,
        to_unpurge,
        to_reinstall,
        was_refreshed,
    } = found;
    if was_refreshed {
        refresh = false;
    }
    let mut install_pkgs: Vec<Value> = Vec::new();
    for (x, y) in targets.iter().chain(to_reinstall.iter()) {
        let mut m = Map::default();
        m.insert(v(x), y.as_deref().map(v).unwrap_or(Value::Null));
        install_pkgs.push(Value::Map(m));
    }
    let mut comment: Vec<String> = Vec::new();
    let mut changes = Map::default();
    if call.test {
        if !targets.is_empty() {
            let iv =
                installable_versions(call, &targets, &IndexMap::new()).map_err(|e| e.strerror())?;
            for (k, val) in iv {
                changes.insert(k, val);
            }
            let summary: Vec<&str> = targets.keys().map(String::as_str).collect();
            comment.push(format!(
                "The following packages would be installed/updated: {}",
                summary.join(", ")
            ));
        }
        if !to_unpurge.is_empty() {
            comment.push(format!(
                "The following packages would have their selection status changed from 'purge' to 'install': {}",
                to_unpurge.join(", ")
            ));
            for x in &to_unpurge {
                changes.insert(v(x), change_map(&[("new", v("installed")), ("old", v(""))]));
            }
        }
        if !to_reinstall.is_empty() {
            let reinstall_targets: Vec<String> = to_reinstall
                .keys()
                .map(|p| desired_pkg(p, &to_reinstall))
                .collect();
            for x in &reinstall_targets {
                changes.insert(v(x), change_map(&[("new", v("installed")), ("old", v(""))]));
            }
            comment.push(format!(
                "The following packages would be reinstalled: {}",
                reinstall_targets.join(", ")
            ));
        }
        let mut r = ret_of(&name, None, comment.join("\n"));
        r.changes = changes;
        return Ok(r);
    }
    let mut pkg_ret = Map::default();
    if !targets.is_empty() || !to_reinstall.is_empty() {
        let mut o = install_opts(call)?;
        o.name = None;
        o.refresh = refresh;
        o.version = version.clone();
        o.pkgs = Some(install_pkgs);
        o.reinstall = !to_reinstall.is_empty();
        o.ignore_epoch = args.ignore_epoch.unwrap_or(false);
        match exec::install(call.ctx, &o) {
            Ok(r) => {
                pkg_ret = r;
                for (k, val) in &pkg_ret {
                    changes.insert(k.clone(), val.clone());
                }
            }
            Err(PkgError::Exec(e)) => {
                let mut r = if e.info.is_some() {
                    let mut r = ret_of(&name, Some(false), e.strerror_without_changes());
                    r.changes = e.changes();
                    r
                } else {
                    ret_of(
                        &name,
                        Some(false),
                        format!(
                            "An error was encountered while installing package(s): {}",
                            e.strerror()
                        ),
                    )
                };
                r.result = Some(false);
                return Ok(r);
            }
            Err(e @ PkgError::Invocation(_)) => return Err(e.strerror()),
        }
    }
    let (mut modified_hold, mut not_modified_hold, mut failed_hold) = (vec![], vec![], vec![]);
    if let Some(h) = hold {
        let desired_list: Vec<Value> = desired.keys().map(|k| v(k)).collect();
        match exec::hold_unhold(call.ctx, h, Some(&name), Some(&desired_list), call.test) {
            Ok(hold_ret) => {
                (modified_hold, not_modified_hold, failed_hold) = split_hold(&hold_ret);
            }
            Err(e) => {
                comment.push(e.strerror());
                let mut r = ret_of(&name, Some(false), comment.join("\n"));
                r.changes = changes;
                return Ok(r);
            }
        }
    }
    if !to_unpurge.is_empty() {
        changes.insert(v("purge_desired"), Value::Map(unpurge(call, &to_unpurge)?));
    }
    let new_pkgs = list_pkgs(call.ctx, false, false).map_err(|e| e.strerror())?;
    let (ok, failed_all) = verify_install(&desired, &new_pkgs, args.ignore_epoch);
    let modified: Vec<String> = ok
        .iter()
        .filter(|x| targets.contains_key(*x))
        .cloned()
        .collect();
    let not_modified: Vec<String> = ok
        .iter()
        .filter(|x| !targets.contains_key(*x) && !to_reinstall.contains_key(*x))
        .cloned()
        .collect();
    let failed: Vec<String> = failed_all
        .into_iter()
        .filter(|x| targets.contains_key(x))
        .collect();
    if !modified.is_empty() {
        let summary = modified
            .iter()
            .map(|x| desired_pkg(x, &desired))
            .collect::<Vec<_>>()
            .join(", ");
        if summary.chars().count() < 20 {
            comment.push(format!(
                "The following packages were installed/updated: {summary}"
            ));
        } else {
            let n = modified.len();
            comment.push(format!(
                "{n} targeted package{} {} installed/updated.",
                if n > 1 { "s" } else { "" },
                if n > 1 { "were" } else { "was" }
            ));
        }
    }
    for i in &modified_hold {
        let change_name = entry_str(i, "name");
        let hold_changes = i
            .get(&v("changes"))
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        let hnew = hold_changes.get(&v("new")).map(str_of).unwrap_or_default();
        let hold = hold_changes.get(&v("old")).map(str_of).unwrap_or_default();
        comment.push(entry_str(i, "comment"));
        match changes
            .get_mut(&v(&change_name))
            .and_then(Value::as_map_mut)
        {
            Some(c) => {
                for (key, add) in [("new", &hnew), ("old", &hold)] {
                    let mut cur = c.get(&v(key)).map(str_of).unwrap_or_default();
                    if !cur.is_empty() {
                        cur.push('\n');
                    }
                    cur.push_str(add);
                    c.insert(v(key), v(&cur));
                }
            }
            None => {
                changes.insert(v(&change_name), change_map(&[("new", v(&hnew))]));
            }
        }
    }
    if !not_modified.is_empty() {
        let summary = not_modified
            .iter()
            .map(|x| desired_pkg(x, &desired))
            .collect::<Vec<_>>()
            .join(", ");
        let n = not_modified.len();
        if n <= 20 {
            comment.push(format!(
                "The following packages were already installed: {summary}"
            ));
        } else {
            comment.push(format!(
                "{n} targeted package{} {} already installed",
                if n > 1 { "s" } else { "" },
                if n > 1 { "were" } else { "was" }
            ));
        }
    }
    for i in &not_modified_hold {
        comment.push(entry_str(i, "comment"));
    }
    let mut result = true;
    if !failed.is_empty() {
        let summary = failed
            .iter()
            .map(|x| desired_pkg(x, &desired))
            .collect::<Vec<_>>()
            .join(", ");
        comment.insert(
            0,
            format!("The following packages failed to install/update: {summary}"),
        );
        result = false;
    }
    for i in &failed_hold {
        comment.push(entry_str(i, "comment"));
        result = false;
    }
    let mut reinstall_failed = false;
    for p in to_reinstall.keys() {
        if reinstall {
            if pkg_ret.contains_key(&v(p)) {
                comment.push(format!(
                    "Package {} was reinstalled.",
                    desired_pkg(p, &desired)
                ));
            } else {
                comment.push(format!(
                    "Reinstall was not successful for package {}.",
                    desired_pkg(p, &desired)
                ));
                reinstall_failed = true;
            }
        }
    }
    if reinstall_failed {
        result = false;
    }
    let mut r = ret_of(&name, Some(result), comment.join("\n"));
    r.changes = changes;
    Ok(r)
}

/// `lowpkg.unpurge` (dpkg_lowpkg.py), including its literal `\n` joiner.
fn unpurge(call: &StateCall, packages: &[String]) -> Result<Map, String> {
    let old = exec::stringify(&list_pkgs(call.ctx, false, true).map_err(|e| e.strerror())?);
    let input: Vec<String> = packages.iter().map(|x| format!("{x} install")).collect();
    exec::run_cmd(
        &["dpkg".to_string(), "--set-selections".to_string()],
        Some(&input.join("\\n")),
    )
    .map_err(|e| e.strerror())?;
    let new = exec::stringify(&list_pkgs(call.ctx, false, true).map_err(|e| e.strerror())?);
    Ok(exec::compare_dicts(&old, &new))
}

/// `_verify_install` (Debian flavour): (ok, failed).
fn verify_install(
    desired: &Desired,
    new_pkgs: &PkgVersions,
    ignore_epoch: Option<bool>,
) -> (Vec<String>, Vec<String>) {
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (pkgname, pkgver) in desired {
        let base = pkgname.split('=').next().unwrap_or(pkgname);
        let cver = new_pkgs.get(base).cloned().unwrap_or_default();
        if cver.is_empty() {
            failed.push(pkgname.clone());
            continue;
        }
        let Some(pv) = pkgver.as_ref().filter(|p| !p.is_empty()) else {
            ok.push(pkgname.clone());
            continue;
        };
        if pv == "latest" {
            ok.push(pkgname.clone());
            continue;
        }
        if let Some(prefix) = pv.strip_suffix('*') {
            if cver[0].starts_with(prefix) {
                ok.push(pkgname.clone());
                continue;
            }
        }
        if fulfills_version_string(&cver, pv, ignore_epoch, false) {
            ok.push(pkgname.clone());
        } else {
            failed.push(pkgname.clone());
        }
    }
    (ok, failed)
}

/// `pkg.latest`.
fn latest(call: &StateCall) -> Result<Ret, String> {
    mod_init(call);
    let name = call.name();
    let refresh = check_refresh(call);
    if call.get("sources").is_some() {
        return Ok(ret_of(
            &name,
            Some(false),
            "The \"sources\" parameter is not supported.",
        ));
    }
    let pkgs = call.opt_list("pkgs")?;
    let desired_pkgs: Vec<String> = match pkgs.as_ref().filter(|p| !p.is_empty()) {
        Some(p) => {
            let packed = exec::repack_pkgs(call.ctx, p, true).map_err(|e| e.strerror())?;
            if packed.is_empty() {
                return Ok(ret_of(
                    &name,
                    Some(false),
                    "Invalidly formatted \"pkgs\" parameter. See minion log.",
                ));
            }
            packed.into_keys().collect()
        }
        None => {
            if pkgs.is_some() {
                return Ok(ret_of(&name, Some(true), "No packages to install provided"));
            }
            vec![name.clone()]
        }
    };
    let fromrepo = call.opt_str("fromrepo")?;
    let lo = LatestOpts {
        refresh,
        show_installed: call.bool_or("show_installed", false)?,
        fromrepo: fromrepo.clone(),
        cache_valid_time: call.opt_int("cache_valid_time")?.unwrap_or(0) as i64,
    };
    let avail = match exec::latest_version(call.ctx, &desired_pkgs, &lo) {
        Ok(a) => a.versions,
        Err(e) => {
            return Ok(ret_of(
                &name,
                Some(false),
                format!(
                    "An error was encountered while checking the newest available version of package(s): {}",
                    e.strerror()
                ),
            ))
        }
    };
    let cur_list = match list_pkgs(call.ctx, false, false) {
        Ok(c) => c,
        Err(e) => return Ok(ret_of(&name, Some(false), e.strerror())),
    };
    let cur: IndexMap<String, String> = desired_pkgs
        .iter()
        .map(|p| {
            (
                p.clone(),
                cur_list.get(p).map(|l| l.join(",")).unwrap_or_default(),
            )
        })
        .collect();
    let mut targets = Desired::new();
    let mut problems = Vec::new();
    for p in &desired_pkgs {
        match avail.get(p).filter(|s| !s.is_empty()) {
            Some(a) => {
                targets.insert(p.clone(), Some(a.clone()));
            }
            None => {
                if cur.get(p).is_none_or(String::is_empty) {
                    let msg = format!("No information found for '{p}'.");
                    tracing::error!("{}", msg);
                    problems.push(msg);
                }
            }
        }
    }
    if !problems.is_empty() {
        return Ok(ret_of(&name, Some(false), problems.join(" ")));
    }
    if targets.is_empty() {
        let comment = if desired_pkgs.len() > 10 {
            format!("All {} packages are up-to-date.", desired_pkgs.len())
        } else if desired_pkgs.len() > 1 {
            let mut s = desired_pkgs.clone();
            s.sort();
            format!("All packages are up-to-date ({}).", s.join(", "))
        } else {
            format!("Package {} is already up-to-date", desired_pkgs[0])
        };
        return Ok(ret_of(&name, Some(true), comment));
    }
    let mut up_to_date: Vec<String> = match &pkgs {
        Some(p) => p
            .iter()
            .filter(|x| !matches!(x, Value::Map(_)))
            .map(str_of)
            .filter(|x| !targets.contains_key(x))
            .collect(),
        None => vec![],
    };
    up_to_date.sort();
    let mut sorted_targets: Vec<String> = targets.keys().cloned().collect();
    sorted_targets.sort();
    if call.test {
        let mut comments = vec![format!(
            "The following packages would be installed/upgraded: {}",
            sorted_targets.join(", ")
        )];
        if !up_to_date.is_empty() {
            if up_to_date.len() <= 10 {
                let items: Vec<String> = up_to_date
                    .iter()
                    .map(|x| format!("{x} ({})", cur.get(x).cloned().unwrap_or_default()))
                    .collect();
                comments.push(format!(
                    "The following packages are already up-to-date: {}",
                    items.join(", ")
                ));
            } else {
                comments.push(format!(
                    "{} packages are already up-to-date",
                    up_to_date.len()
                ));
            }
        }
        let changes = installable_versions(call, &targets, &cur).map_err(|e| e.strerror())?;
        let mut r = ret_of(&name, None, comments.join("\n"));
        r.changes = changes;
        return Ok(r);
    }
    let mut o = install_opts(call)?;
    o.refresh = false;
    o.pkgs = Some(targets.keys().map(|k| v(k)).collect());
    let changes = match exec::install(call.ctx, &o) {
        Ok(c) => c,
        Err(e) => {
            return Ok(ret_of(
                &name,
                Some(false),
                format!(
                    "An error was encountered while installing package(s): {}",
                    e.strerror()
                ),
            ))
        }
    };
    if !changes.is_empty() {
        let failed: Vec<String> = sorted_targets
            .iter()
            .filter(|x| {
                let want = targets.get(*x).cloned().flatten().unwrap_or_default();
                match changes.get(&v(x)).and_then(Value::as_map) {
                    None => true,
                    Some(c) if c.is_empty() => true,
                    Some(c) => match c.get(&v("new")) {
                        Some(Value::Null) | None => false,
                        Some(n) => !str_of(n).split(',').any(|p| p == want) && want != "latest",
                    },
                }
            })
            .cloned()
            .collect();
        let successful: Vec<String> = sorted_targets
            .iter()
            .filter(|x| !failed.contains(x))
            .cloned()
            .collect();
        let mut comments = Vec::new();
        if !failed.is_empty() {
            comments.push(format!(
                "The following packages failed to update: {}",
                failed.join(", ")
            ));
        }
        if !successful.is_empty() {
            comments.push(format!(
                "The following packages were successfully installed/upgraded: {}",
                successful.join(", ")
            ));
        }
        if !up_to_date.is_empty() {
            if up_to_date.len() <= 10 {
                comments.push(format!(
                    "The following packages were already up-to-date: {}",
                    up_to_date.join(", ")
                ));
            } else {
                comments.push(format!(
                    "{} packages were already up-to-date ",
                    up_to_date.len()
                ));
            }
        }
        let mut r = ret_of(&name, Some(failed.is_empty()), comments.join(" "));
        r.changes = changes;
        return Ok(r);
    }
    let mut comment = if targets.len() > 10 {
        format!(
            "{} targeted packages failed to update. See debug log for details.",
            targets.len()
        )
    } else if targets.len() > 1 {
        format!(
            "The following targeted packages failed to update. See debug log for details: ({}).",
            sorted_targets.join(", ")
        )
    } else {
        format!("Package {} failed to update.", sorted_targets[0])
    };
    if !up_to_date.is_empty() {
        if up_to_date.len() <= 10 {
            comment.push_str(&format!(
                " The following packages were already up-to-date: {}",
                up_to_date.join(", ")
            ));
        } else {
            comment.push_str(&format!(
                "{} packages were already up-to-date",
                up_to_date.len()
            ));
        }
    }
    let mut r = ret_of(&name, Some(false), comment);
    r.changes = changes;
    Ok(r)
}

/// `_find_remove_targets`: the installed packages to remove, or a return.
fn find_remove_targets(
    call: &StateCall,
    name: &str,
    version: Option<&str>,
    pkgs: Option<&[Value]>,
    normalize: bool,
    ignore_epoch: Option<bool>,
) -> Result<Result<Vec<String>, Ret>, String> {
    let cur = list_pkgs(call.ctx, false, false).map_err(|e| e.strerror())?;
    let to_remove: Desired = match pkgs.filter(|p| !p.is_empty()) {
        Some(p) => {
            let r = exec::repack_pkgs(call.ctx, p, normalize).map_err(|e| e.strerror())?;
            if r.is_empty() {
                return Ok(Err(ret_of(
                    name,
                    Some(false),
                    "Invalidly formatted pkgs parameter. See minion log.",
                )));
            }
            r
        }
        None => {
            let mut d = Desired::new();
            d.insert(
                exec::normalize_name(call.ctx, name),
                version.map(str::to_string),
            );
            d
        }
    };
    let mut version_spec = false;
    let mut targets = Vec::new();
    for (pkgname, pkgver) in &to_remove {
        let cver = cur.get(pkgname).cloned().unwrap_or_default();
        if cver.is_empty() {
            continue;
        }
        let Some(pv) = pkgver else {
            targets.push(pkgname.clone());
            continue;
        };
        version_spec = true;
        if fulfills_version_string(&cver, pv, ignore_epoch, false) {
            targets.push(pkgname.clone());
        }
    }
    if targets.is_empty() {
        return Ok(Err(ret_of(
            name,
            Some(true),
            format!(
                "All specified packages{} are already absent",
                if version_spec {
                    " (matching specified versions)"
                } else {
                    ""
                }
            ),
        )));
    }
    Ok(Ok(targets))
}

/// `_uninstall` of the states: remove or purge.
fn uninstall(call: &StateCall, purge: bool) -> Result<Ret, String> {
    let name = call.name();
    let action = if purge { "purge" } else { "remove" };
    let version = call.get("version").map(str_of);
    let pkgs = call.opt_list("pkgs")?;
    let normalize = call.bool_or("normalize", true)?;
    let ignore_epoch = opt_bool(call, "ignore_epoch")?;
    let pkg_params = exec::parse_targets(
        call.ctx,
        Some(&name),
        pkgs.as_deref(),
        version.clone(),
        normalize,
    )
    .map_err(|e| e.strerror())?
    .unwrap_or_default();
    let mut targets = match find_remove_targets(
        call,
        &name,
        version.as_deref(),
        pkgs.as_deref(),
        normalize,
        ignore_epoch,
    )? {
        Ok(t) => t,
        Err(r) => {
            if purge {
                vec![]
            } else {
                return Ok(r);
            }
        }
    };
    if purge {
        let old_removed = list_pkgs(call.ctx, true, false).map_err(|e| e.strerror())?;
        targets.extend(
            pkg_params
                .keys()
                .filter(|x| old_removed.contains_key(*x))
                .cloned(),
        );
    }
    targets.sort();
    if targets.is_empty() {
        return Ok(ret_of(
            &name,
            Some(true),
            format!(
                "None of the targeted packages are installed{}",
                if purge { " or partially installed" } else { "" }
            ),
        ));
    }
    if call.test {
        let mut r = ret_of(
            &name,
            None,
            format!(
                "The following packages will be {action}d: {}.",
                targets.join(", ")
            ),
        );
        for x in &targets {
            r.changes.insert(
                v(x),
                change_map(&[("new", v(&format!("{action}d"))), ("old", v(""))]),
            );
        }
        return Ok(r);
    }
    let changes = match exec::uninstall(call.ctx, purge, Some(&name), pkgs.as_deref()) {
        Ok(c) => c,
        Err(PkgError::Exec(e)) => {
            let mut r = if e.info.is_some() {
                let mut r = ret_of(&name, Some(false), e.strerror_without_changes());
                r.changes = e.changes();
                r
            } else {
                ret_of(
                    &name,
                    Some(false),
                    format!(
                        "An error was encountered while {} package(s): {}",
                        if purge { "purging" } else { "removing" },
                        e.strerror()
                    ),
                )
            };
            r.result = Some(false);
            return Ok(r);
        }
        Err(e @ PkgError::Invocation(_)) => return Err(e.strerror()),
    };
    let new = list_pkgs(call.ctx, false, false).map_err(|e| e.strerror())?;
    let mut failed: Vec<String> = pkg_params
        .keys()
        .filter(|p| new.contains_key(*p))
        .cloned()
        .collect();
    if purge {
        let new_removed = list_pkgs(call.ctx, true, false).map_err(|e| e.strerror())?;
        failed.extend(
            pkg_params
                .keys()
                .filter(|x| new_removed.contains_key(*x))
                .cloned(),
        );
    }
    failed.sort();
    if !failed.is_empty() {
        let mut r = ret_of(
            &name,
            Some(false),
            format!(
                "The following packages failed to {action}: {}.",
                failed.join(", ")
            ),
        );
        r.changes = changes;
        return Ok(r);
    }
    let mut not_installed: Vec<String> = pkg_params
        .keys()
        .filter(|x| !targets.contains(x))
        .cloned()
        .collect();
    not_installed.sort();
    let comment = if !not_installed.is_empty() {
        format!(
            "The following packages were not installed: {} The following packages were {action}d: {}.",
            not_installed.join(", "),
            targets.join(", ")
        )
    } else {
        format!("All targeted packages were {action}d.")
    };
    let mut r = ret_of(&name, Some(true), comment);
    r.changes = changes;
    Ok(r)
}

/// `pkg.removed`.
fn removed(call: &StateCall) -> Result<Ret, String> {
    uninstall(call, false)
}

/// `pkg.purged`.
fn purged(call: &StateCall) -> Result<Ret, String> {
    uninstall(call, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_strings() {
        let inst = vec!["1.0".to_string()];
        assert!(fulfills_version_string(&inst, "1.0", None, false));
        assert!(fulfills_version_string(&inst, "1.0*", None, false));
        assert!(!fulfills_version_string(&inst, "1.1", None, false));
        assert!(fulfills_version_string(&inst, ">=0.9,<1.1", None, false));
        assert!(!fulfills_version_string(&inst, ">1.0", None, false));
        assert!(fulfills_version_string(&inst, "0.9", None, true));
        assert!(fulfills_version_string(
            &["1:1.0".to_string()],
            "1.0",
            None,
            false
        ));
        let mut d = Desired::new();
        d.insert("a".into(), Some("1.0".into()));
        d.insert("b".into(), Some(">=2".into()));
        d.insert("c".into(), None);
        assert_eq!(desired_pkg("a", &d), "a=1.0");
        assert_eq!(desired_pkg("b", &d), "b>=2");
        assert_eq!(desired_pkg("c", &d), "c");
    }
}
