//! `file.directory`, `file.absent`, `file.exists`, `file.missing` and
//! `file.copy` (salt/states/file.py): a directory with its owner/mode
//! (recursively if asked) and `clean`, removal, presence checks, copies.

use super::managed::{check_user, error};
use crate::modules::file as fmod;
use crate::states::{Ret, StateCall};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use std::path::Path;

/// One level of `os.walk` (top-down, not following links): (root, dirs,
/// files), names in directory order as Python's `scandir` gives them.
pub(crate) type WalkEntry = (String, Vec<String>, Vec<String>);

/// `salt.utils.path.os_walk(top)` limited to `max_depth` levels
/// (`_depth_limited_walk`).
pub(crate) fn walk(top: &str, max_depth: Option<usize>) -> Vec<WalkEntry> {
    let top_depth = top.trim_end_matches('/').matches('/').count();
    let mut out = Vec::new();
    let mut stack = vec![top.to_string()];
    while let Some(root) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&root) else {
            continue;
        };
        let rel_depth = root.trim_end_matches('/').matches('/').count() - top_depth;
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            // os.walk: is_dir() follows symlinks.
            if e.path().is_dir() {
                dirs.push(n);
            } else {
                files.push(n);
            }
        }
        if max_depth.is_some_and(|m| rel_depth >= m) {
            continue;
        }
        // Descend in order (pushed reversed onto the stack), not into links.
        for d in dirs.iter().rev() {
            let p = fmod::py_join(&[root.clone(), d.clone()]);
            if !std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
                stack.push(p);
            }
        }
        out.push((root, dirs, files));
    }
    out
}

/// `salt.utils.stringutils.check_include_exclude`: glob patterns, or
/// `E@regex` (searched).
pub(crate) fn check_include_exclude(
    path: &str,
    include: Option<&Value>,
    exclude: Option<&Value>,
) -> bool {
    fn pat_check(path: &str, pat: &str) -> bool {
        match pat.strip_prefix("E@") {
            Some(re) => regex::Regex::new(re).is_ok_and(|r| r.is_match(path)),
            None => brine_core::matcher::fnmatch::fnmatch(path, pat),
        }
    }
    let pats = |v: &Value| -> Vec<String> {
        match v {
            Value::List(l) => l.iter().map(str_of).collect(),
            v => vec![str_of(v)],
        }
    };
    let include = include.filter(|v| v.truthy());
    let exclude = exclude.filter(|v| v.truthy());
    let inc = include.map(|v| pats(v).iter().any(|p| pat_check(path, p)));
    let exc = exclude.map(|v| !pats(v).iter().any(|p| pat_check(path, p)));
    match (inc, exc) {
        (Some(i), None) => i,
        (None, Some(e)) => e,
        (Some(i), Some(e)) => i && e,
        (None, None) => true,
    }
}

/// `os.path.relpath(path, start)` for absolute paths.
pub(crate) fn relpath(path: &str, start: &str) -> String {
    let p: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let s: Vec<&str> = start.split('/').filter(|s| !s.is_empty()).collect();
    let common = p.iter().zip(&s).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; s.len() - common];
    parts.extend(&p[common..]);
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn join(a: &str, b: &str) -> String {
    fmod::py_join(&[a.to_string(), b.to_string()])
}

/// `_get_recurse_set`.
fn recurse_set(recurse: Option<&Value>) -> Result<Vec<String>, String> {
    const TYPES: &[&str] = &[
        "user",
        "group",
        "mode",
        "ignore_files",
        "ignore_dirs",
        "silent",
    ];
    let Some(r) = recurse.filter(|r| r.truthy()) else {
        return Ok(Vec::new());
    };
    let Value::List(items) = r else {
        return Err("\"recurse\" must be formed as a list of strings".into());
    };
    let set: Vec<String> = items.iter().map(str_of).collect();
    if items.iter().any(|i| !matches!(i, Value::Str(_)))
        || set.iter().any(|s| !TYPES.contains(&s.as_str()))
    {
        return Err(format!(
            "Types for \"recurse\" limited to {}.",
            TYPES
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if set.iter().any(|s| s == "ignore_files") && set.iter().any(|s| s == "ignore_dirs") {
        return Err("Must not specify \"recurse\" options \"ignore_files\" and \"ignore_dirs\" at the same time.".into());
    }
    Ok(set)
}

fn owner_differs(want: Option<&Value>, st: &fmod::Stats, group: bool) -> bool {
    let Some(w) = want else { return false };
    let (n, id) = if group {
        (&st.group, st.gid)
    } else {
        (&st.user, st.uid)
    };
    w != n && *w != Value::Int(id as i128)
}

/// `_check_dir_meta`.
fn check_dir_meta(
    name: &str,
    user: Option<&Value>,
    group: Option<&Value>,
    mode: Option<&str>,
    follow: bool,
) -> Map {
    let mut ch = Map::default();
    let Ok(st) = fmod::stats(name, follow) else {
        ch.insert("directory".into(), "new".into());
        return ch;
    };
    if owner_differs(user, &st, false) {
        ch.insert("user".into(), user.cloned().unwrap_or_default());
    }
    if owner_differs(group, &st, true) {
        ch.insert("group".into(), group.cloned().unwrap_or_default());
    }
    if let Some(m) = mode {
        if m != st.mode && (follow || st.kind != "link") {
            ch.insert("mode".into(), m.into());
        }
    }
    ch
}

/// The paths a `require` of `file` states keeps from `clean`
/// (`_gen_keep_files`): each required `file` state (matched by name or ID
/// among the states already run, as Salt matches the lowstate) keeps its
/// `name`, and a required directory under `name` keeps its whole tree.
pub(crate) fn keep_files(name: &str, require: Option<&Value>, running: &Map) -> Vec<String> {
    let mut keep = Vec::new();
    let Some(Value::List(reqs)) = require else {
        return keep;
    };
    for r in reqs {
        let Some(want) = r.get("file").map(str_of) else {
            continue;
        };
        let mut names: Vec<String> = running
            .keys()
            .filter_map(|tag| {
                let parts: Vec<&str> = tag.as_str()?.split("_|-").collect();
                (parts.len() == 4 && parts[0] == "file" && (parts[1] == want || parts[2] == want))
                    .then(|| parts[2].to_string())
            })
            .collect();
        if names.is_empty() && want.starts_with('/') {
            names.push(want.clone());
        }
        for f in names {
            if Path::new(&f).is_dir() {
                if !relpath(&fmod::abspath(&f), &fmod::abspath(name)).starts_with("..") {
                    for (root, dirs, files) in walk(&f, None) {
                        keep.push(f.clone());
                        for n in files.iter().chain(&dirs) {
                            keep.push(join(&root, n));
                        }
                    }
                }
            } else {
                keep.push(f);
            }
        }
    }
    keep
}

/// `_find_keep_files`: the kept paths and all their parents.
fn real_keep(root: &str, keep: &[String]) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    out.insert(root.to_string());
    for k in keep {
        if !k.starts_with('/') {
            continue;
        }
        let mut f = fmod::abspath(k);
        out.insert(f.clone());
        loop {
            f = fmod::abspath(&fmod::py_dirname(&f));
            out.insert(f.clone());
            if f.trim_start_matches('/').is_empty() {
                break;
            }
        }
    }
    out
}

/// `_clean_dir`: remove what is neither kept nor excluded.
pub(crate) fn clean_dir(
    root: &str,
    keep: &[String],
    exclude_pat: Option<&Value>,
    test: bool,
) -> Vec<String> {
    let real = real_keep(root, keep);
    let mut removed = Vec::new();
    let mut stack = vec![root.to_string()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                dirs.push(n);
            } else {
                files.push(n);
            }
        }
        for n in dirs.iter().chain(&files) {
            let p = join(&dir, n);
            if real.contains(&p) || !check_include_exclude(&relpath(&p, root), None, exclude_pat) {
                continue;
            }
            removed.push(p.clone());
            if !test {
                let _ = fmod::remove(&p);
            }
        }
        for d in dirs.iter().rev() {
            let p = join(&dir, d);
            if !std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
                stack.push(p);
            }
        }
    }
    removed
}

/// `file.directory`.
pub fn directory(call: &StateCall) -> Result<Ret, String> {
    let mut name = fmod::expanduser(&call.name());
    let mut ret = Ret::new(name.as_str());
    if name.is_empty() {
        return Ok(error(ret, "Must provide name to file.directory"));
    }
    if name.ends_with('/') && name != "/" {
        name.pop();
    }
    let test = call.test;
    let max_depth = call.opt_int("max_depth")?;
    let clean = call.bool_or("clean", false)?;
    if max_depth.is_some() && clean {
        return Ok(error(ret, "Cannot specify both max_depth and clean"));
    }
    let user_v = call
        .get("user")
        .filter(|u| u.truthy())
        .or_else(|| call.get("owner"))
        .cloned();
    let group_v = call.get("group").cloned();
    let (user, group) = (user_v.as_ref(), group_v.as_ref());
    let mut dir_mode_v = call.get("dir_mode").cloned().filter(|d| d.truthy());
    if dir_mode_v.is_none() {
        if let Some(m) = call.low.get(&Value::from("mode")) {
            dir_mode_v = Some(m.clone());
        }
    }
    let file_mode_v = call
        .get("file_mode")
        .cloned()
        .filter(|f| f.truthy())
        .or_else(|| dir_mode_v.clone());
    let dir_mode = fmod::normalize_mode(dir_mode_v.as_ref());
    let file_mode = fmod::normalize_mode(file_mode_v.as_ref());
    let makedirs = call.bool_or("makedirs", false)?;
    let exclude_pat = call.get("exclude_pat");
    let follow_symlinks = call.bool_or("follow_symlinks", false)?;
    let force = call.bool_or("force", false)?;
    let backupname = call.opt_str("backupname")?;
    let allow_symlink = call.bool_or("allow_symlink", true)?;
    let children_only = call.bool_or("children_only", false)?;
    let recurse = call.get("recurse");
    let require = call.get("require");

    let u_check = check_user(user, group);
    if !u_check.is_empty() && !test {
        return Ok(error(ret, u_check));
    }
    if !name.starts_with('/') {
        return Ok(error(
            ret,
            format!("Specified file {name} is not an absolute path"),
        ));
    }
    let p = Path::new(&name);
    let is_link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    if p.is_file() || (!allow_symlink && is_link) || (force && is_link) {
        if let Some(bk) = &backupname {
            if std::fs::symlink_metadata(bk).is_ok() {
                if !force {
                    return Ok(error(
                        ret,
                        format!("File exists where the backup target {bk} should go"),
                    ));
                }
                if test {
                    ret.change(
                        "forced",
                        format!("Existing file at backup path {bk} would be removed"),
                    );
                } else {
                    let _ = fmod::remove(bk);
                }
            }
            if test {
                ret.change("backup", format!("{name} would be renamed to {bk}"));
                let mut d = Map::default();
                d.insert("directory".into(), "new".into());
                ret.change(&name, Value::Map(d));
                ret.comment =
                    format!("{name} would be backed up and replaced with a new directory").into();
                ret.result = None;
                return Ok(ret);
            }
            if let Err(e) = std::fs::rename(&name, bk) {
                return Ok(error(ret, format!("Failed to rename {name} to {bk}: {e}")));
            }
        } else if force {
            let what = if p.is_file() {
                "File"
            } else if is_link {
                "Symlink"
            } else {
                "Directory"
            };
            if test {
                ret.change("forced", format!("{what} would be forcibly replaced"));
            } else {
                let _ = fmod::remove(&name);
                ret.change("forced", format!("{what} was forcibly replaced"));
            }
        } else if p.is_file() {
            return Ok(error(
                ret,
                format!("Specified location {name} exists and is a file"),
            ));
        } else if is_link {
            return Ok(error(
                ret,
                format!("Specified location {name} exists and is a symlink"),
            ));
        }
    }

    // _check_directory: what would change.
    let rset = recurse_set(recurse);
    let max_depth = max_depth.and_then(|m| usize::try_from(m).ok());
    let walk_l = if rset.as_ref().is_ok_and(|s| !s.is_empty()) || clean {
        walk(&name, max_depth)
    } else {
        Vec::new()
    };
    let mut tchanges = Map::default();
    let (tresult, tcomment) = match &rset {
        Err(e) => (Some(false), e.clone()),
        Ok(rs) => {
            let has = |k: &str| rs.iter().any(|s| s == k);
            if !rs.is_empty() {
                let ru = if has("user") { user } else { None };
                let rg = if has("group") { group } else { None };
                let (rdm, rfm) = if has("mode") {
                    (dir_mode.as_deref(), file_mode.as_deref())
                } else {
                    (None, None)
                };
                for (root, dirs, files) in &walk_l {
                    if !has("ignore_files") {
                        for f in files {
                            let path = join(root, f);
                            let Ok(st) = fmod::stats(&path, follow_symlinks) else {
                                continue;
                            };
                            let mut fc = Map::default();
                            if owner_differs(ru, &st, false) {
                                fc.insert("user".into(), ru.cloned().unwrap_or_default());
                            }
                            if owner_differs(rg, &st, true) {
                                fc.insert("group".into(), rg.cloned().unwrap_or_default());
                            }
                            if let Some(m) = rfm {
                                if m != st.mode && (follow_symlinks || st.kind != "link") {
                                    fc.insert("mode".into(), m.into());
                                }
                            }
                            if !fc.is_empty() {
                                tchanges.insert(path.into(), Value::Map(fc));
                            }
                        }
                    }
                    if !has("ignore_dirs") {
                        for d in dirs {
                            let path = join(root, d);
                            let fc = check_dir_meta(&path, ru, rg, rdm, follow_symlinks);
                            if !fc.is_empty() {
                                tchanges.insert(path.into(), Value::Map(fc));
                            }
                        }
                    }
                }
            }
            if !children_only {
                let fc = check_dir_meta(&name, user, group, dir_mode.as_deref(), follow_symlinks);
                if !fc.is_empty() {
                    tchanges.insert(name.as_str().into(), Value::Map(fc));
                }
            }
            if clean {
                let keep = keep_files(&name, require, call.running);
                for (root, dirs, files) in &walk_l {
                    for n in files.iter().chain(dirs) {
                        let path = join(root, n);
                        if keep.contains(&path)
                            || !check_include_exclude(&relpath(&path, &name), None, exclude_pat)
                        {
                            continue;
                        }
                        let mut m = Map::default();
                        m.insert("removed".into(), "Removed due to clean".into());
                        tchanges.insert(path.into(), Value::Map(m));
                    }
                }
            }
            if !p.is_dir() {
                let mut m = Map::default();
                m.insert("directory".into(), "new".into());
                tchanges.insert(name.as_str().into(), Value::Map(m));
            }
            if tchanges.is_empty() {
                (
                    Some(true),
                    format!("The directory {name} is in the correct state"),
                )
            } else {
                let mut c = String::from("The following files will be changed:\n");
                for (f, v) in &tchanges {
                    if let Value::Map(m) = v {
                        for (k, val) in m {
                            c.push_str(&format!(
                                "{}: {} - {}\n",
                                str_of(f),
                                str_of(k),
                                str_of(val)
                            ));
                        }
                    }
                }
                (None, c)
            }
        }
    };
    ret.changes.extend(tchanges);
    if test || rset.is_err() {
        ret.result = tresult;
        ret.comment = tcomment.into();
        return Ok(ret);
    }
    if ret.changes.is_empty() {
        ret.result = tresult;
        ret.comment = tcomment.into();
        return Ok(ret);
    }

    if !p.is_dir() {
        if !Path::new(&fmod::py_dirname(&name)).is_dir() {
            if makedirs {
                if let Err(e) = fmod::makedirs(&name, user, group, dir_mode.as_deref()) {
                    return Ok(error(ret, e));
                }
            } else {
                return Ok(error(ret, format!("No directory to create {name} in")));
            }
        }
        if let Err(e) = fmod::mkdir(&name, user, group, dir_mode.as_deref()) {
            return Ok(error(ret, e));
        }
        if !p.is_dir() {
            return Ok(error(ret, format!("Failed to create directory {name}")));
        }
        let mut m = Map::default();
        m.insert("directory".into(), "new".into());
        ret.change(&name, Value::Map(m));
        return Ok(ret);
    }

    if !children_only {
        let dm = dir_mode.as_ref().map(|m| Value::from(m.as_str()));
        fmod::check_perms(
            &name,
            &mut ret,
            user,
            group,
            dm.as_ref(),
            follow_symlinks,
            false,
        )?;
    }
    let mut errors: Vec<String> = Vec::new();
    let rs = rset.unwrap_or_default();
    if !rs.is_empty() {
        let has = |k: &str| rs.iter().any(|s| s == k);
        let mut ru = None;
        let mut rg = None;
        if has("user") {
            match user {
                Some(u) if u.truthy() || matches!(u, Value::Int(_)) => {
                    if fmod::user_value_to_uid(u).is_none() {
                        ret.result = Some(false);
                        ret.comment = format!(
                            "Failed to enforce ownership for user {} (user does not exist)",
                            str_of(u)
                        )
                        .into();
                    }
                    ru = Some(u);
                }
                _ => {
                    ret.result = Some(false);
                    ret.comment =
                        "user not specified, but configured as a target for recursive ownership management".into();
                }
            }
        }
        if has("group") {
            match group {
                Some(g) if g.truthy() || matches!(g, Value::Int(_)) => {
                    if fmod::group_value_to_gid(g).is_none() {
                        ret.result = Some(false);
                        ret.comment =
                            format!("Failed to enforce group ownership for group {}", str_of(g))
                                .into();
                    }
                    rg = Some(g);
                }
                _ => {
                    ret.result = Some(false);
                    ret.comment =
                        "group not specified, but configured as a target for recursive ownership management".into();
                }
            }
        }
        let (fm, dm) = if has("mode") {
            (
                file_mode.as_ref().map(|m| Value::from(m.as_str())),
                dir_mode.as_ref().map(|m| Value::from(m.as_str())),
            )
        } else {
            (None, None)
        };
        if has("silent") {
            ret.changes = Map::default();
            ret.change("recursion", "Changes silenced");
        }
        for (root, dirs, files) in &walk_l {
            if !has("ignore_files") {
                for f in files {
                    let full = join(root, f);
                    if let Err(e) = fmod::check_perms(
                        &full,
                        &mut ret,
                        ru,
                        rg,
                        fm.as_ref(),
                        follow_symlinks,
                        false,
                    ) {
                        if !e.starts_with("Path not found") {
                            errors.push(e);
                        }
                    }
                }
            }
            if !has("ignore_dirs") {
                for d in dirs {
                    let full = join(root, d);
                    if let Err(e) = fmod::check_perms(
                        &full,
                        &mut ret,
                        ru,
                        rg,
                        dm.as_ref(),
                        follow_symlinks,
                        false,
                    ) {
                        if !e.starts_with("Path not found") {
                            errors.push(e);
                        }
                    }
                }
            }
        }
    }
    if clean {
        let keep = keep_files(&name, require, call.running);
        let removed = clean_dir(&name, &keep, exclude_pat, false);
        if !removed.is_empty() {
            ret.change(
                "removed",
                Value::List(removed.into_iter().map(Value::from).collect()),
            );
            ret.comment = format!("Files cleaned from directory {name}").into();
        }
    }
    let comment_empty = ret.comment.as_str().is_none_or(str::is_empty);
    if comment_empty {
        if children_only {
            ret.comment = format!("Directory {name}/* updated").into();
        } else if !ret.changes.is_empty() {
            ret.comment = format!("Directory {name} updated").into();
        }
    }
    if ret.changes.is_empty() && ret.result == Some(true) {
        let orig = ret.comment.as_str().unwrap_or("").to_string();
        let mut c = format!("Directory {name} is in the correct state");
        if !orig.is_empty() {
            c = format!("{c}\n{orig}");
        }
        ret.comment = c.into();
    }
    if !errors.is_empty() {
        ret.result = Some(false);
        let mut c = ret.comment.as_str().unwrap_or("").to_string();
        c.push_str("\n\nThe following errors were encountered:\n");
        for e in errors {
            c.push_str(&format!("\n- {e}"));
        }
        ret.comment = c.into();
    }
    Ok(ret)
}

/// `file.absent`.
pub fn absent(call: &StateCall) -> Result<Ret, String> {
    let name = fmod::expanduser(&call.name());
    let mut ret = Ret::new(name.as_str());
    if name.is_empty() {
        return Ok(error(ret, "Must provide name to file.absent"));
    }
    if !name.starts_with('/') {
        return Ok(error(
            ret,
            format!("Specified file {name} is not an absolute path"),
        ));
    }
    if name == "/" {
        return Ok(error(ret, "Refusing to make \"/\" absent"));
    }
    let p = Path::new(&name);
    let is_link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    let kind = if p.is_file() || is_link {
        "File"
    } else if p.is_dir() {
        "Directory"
    } else {
        ret.comment = format!("File {name} is not present").into();
        return Ok(ret);
    };
    if call.test {
        ret.result = None;
        ret.change("removed", name.as_str());
        ret.comment = format!("{kind} {name} is set for removal").into();
        return Ok(ret);
    }
    match fmod::remove(&name) {
        Ok(_) => {
            ret.comment = format!("Removed {} {name}", kind.to_lowercase()).into();
            ret.change("removed", name.as_str());
            Ok(ret)
        }
        Err(e) if kind == "File" => Ok(error(ret, e)),
        Err(_) => Ok(error(ret, format!("Failed to remove directory {name}"))),
    }
}

/// `file.exists`.
pub fn exists(call: &StateCall) -> Result<Ret, String> {
    let name = fmod::expanduser(&call.name());
    let ret = Ret::new(name.as_str());
    if name.is_empty() {
        return Ok(error(ret, "Must provide name to file.exists"));
    }
    if !Path::new(&name).exists() {
        return Ok(error(ret, format!("Specified path {name} does not exist")));
    }
    Ok(ret.with(Some(true), format!("Path {name} exists")))
}

/// `file.missing`.
pub fn missing(call: &StateCall) -> Result<Ret, String> {
    let name = fmod::expanduser(&call.name());
    let ret = Ret::new(name.as_str());
    if name.is_empty() {
        return Ok(error(ret, "Must provide name to file.missing"));
    }
    if Path::new(&name).exists() {
        return Ok(error(ret, format!("Specified path {name} exists")));
    }
    Ok(ret.with(Some(true), format!("Path {name} is missing")))
}

/// `file.copy`.
pub fn copy(call: &StateCall) -> Result<Ret, String> {
    let mut name = fmod::expanduser(&call.name());
    let source = fmod::expanduser(&call.opt_str("source")?.unwrap_or_default());
    let mut ret = Ret::new(name.as_str());
    ret.comment = format!("Copied \"{source}\" to \"{name}\"").into();
    if name.is_empty() {
        return Ok(error(ret, "Must provide name to file.copy"));
    }
    if !name.starts_with('/') {
        return Ok(error(
            ret,
            format!("Specified file {name} is not an absolute path"),
        ));
    }
    if !Path::new(&source).exists() {
        return Ok(error(
            ret,
            format!("Source file \"{source}\" is not present"),
        ));
    }
    let force = call.bool_or("force", false)?;
    let makedirs = call.bool_or("makedirs", false)?;
    let preserve = call.bool_or("preserve", false)?;
    let subdir = call.bool_or("subdir", false)?;
    let dir_mode = call.get("dir_mode").cloned();
    let (user, group, mode): (Value, Value, Value) = if preserve {
        let st = fmod::stats(&source, true)?;
        (st.user, st.group, Value::from(st.mode))
    } else {
        let user = call
            .get("user")
            .filter(|u| u.truthy())
            .or_else(|| call.get("owner"))
            .cloned()
            .or_else(|| call.ctx.opts.get("user").cloned())
            .unwrap_or_else(|| Value::from("root"));
        let group = match call.get("group") {
            Some(g) => g.clone(),
            None => {
                let gid = match &user {
                    Value::Int(i) => fmod::uid_to_user(*i as u32).and_then(|n| user_gid(&n)),
                    u => user_gid(&str_of(u)),
                }
                .unwrap_or(0);
                fmod::gid_to_group(gid)
                    .map(Value::from)
                    .unwrap_or(Value::Int(gid as i128))
            }
        };
        let u_check = check_user(Some(&user), Some(&group));
        if !u_check.is_empty() && !call.test {
            return Ok(error(ret, u_check));
        }
        let mode = match call.get("mode") {
            Some(m) => m.clone(),
            None => Value::from(fmod::stats(&source, true)?.mode),
        };
        (user, group, mode)
    };
    if subdir && Path::new(&name).is_dir() {
        name = join(&name, fmod::py_basename(&source));
    }
    let lexists = |p: &str| std::fs::symlink_metadata(p).is_ok();
    let mut changed = true;
    if lexists(&source) && lexists(&name) {
        if force && Path::new(&name).is_file() {
            let same = std::fs::read(&name).ok() == std::fs::read(&source).ok();
            if same {
                let c = format!(
                    "{} - files are identical but force flag is set",
                    str_of(&ret.comment)
                );
                ret.comment = c.into();
            }
        }
        if !force {
            changed = false;
        } else if !call.test && fmod::remove(&name).is_err() {
            return Ok(error(
                ret,
                format!("Failed to delete \"{name}\" in preparation for forced move"),
            ));
        }
    }
    if call.test {
        if changed {
            ret.comment = format!("File \"{source}\" is set to be copied to \"{name}\"").into();
            ret.result = None;
        } else {
            ret.comment =
                format!("The target file \"{name}\" exists and will not be overwritten").into();
            ret.result = Some(true);
        }
        return Ok(ret);
    }
    if !changed {
        ret.comment =
            format!("The target file \"{name}\" exists and will not be overwritten").into();
        return Ok(ret);
    }
    let dname = fmod::py_dirname(&name);
    if !Path::new(&dname).is_dir() {
        if makedirs {
            let ms = str_of(&mode);
            if let Err(e) = super::managed::make_parent_dirs(
                &name,
                dir_mode.as_ref(),
                Some(&ms),
                Some(&user),
                Some(&group),
            ) {
                return Ok(error(ret, e));
            }
        } else {
            return Ok(error(
                ret,
                format!("The target directory {dname} is not present"),
            ));
        }
    }
    let copied = if Path::new(&source).is_dir() {
        fmod::copy_tree(Path::new(&source), Path::new(&name)).map(|_| {
            for (root, dirs, files) in walk(&name, None) {
                for n in dirs.iter().chain(&files) {
                    let _ = fmod::chown(&join(&root, n), Some(&user), Some(&group), false);
                }
            }
        })
    } else {
        std::fs::read(&source).and_then(|data| {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&source)?.permissions().mode() & 0o7777;
            brine_core::fsutil::write_atomic(Path::new(&name), &data, Some(m))
        })
    };
    if copied.is_err() {
        return Ok(error(
            ret,
            format!("Failed to copy \"{source}\" to \"{name}\""),
        ));
    }
    ret.changes = Map::default();
    ret.change(&name, source.as_str());
    if !preserve {
        fmod::check_perms(
            &name,
            &mut ret,
            Some(&user),
            Some(&group),
            Some(&mode),
            false,
            false,
        )?;
    }
    Ok(ret)
}

/// The primary gid of user `name` (`user.info(name)['gid']`).
fn user_gid(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == name)
            .then(|| f[3].parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_exclude_like_salt() {
        let v = Value::from;
        assert!(check_include_exclude("a.txt", None, None));
        assert!(check_include_exclude("a.txt", Some(&v("*.txt")), None));
        assert!(!check_include_exclude("a.cfg", Some(&v("*.txt")), None));
        assert!(!check_include_exclude("sub/x", None, Some(&v("E@^sub"))));
        assert!(check_include_exclude("x/sub", None, Some(&v("E@^sub"))));
        let both = check_include_exclude("a.txt", Some(&v("*.txt")), Some(&v("a*")));
        assert!(!both);
    }

    #[test]
    fn relpath_like_python() {
        assert_eq!(relpath("/a/b/c", "/a"), "b/c");
        assert_eq!(relpath("/a", "/a/b"), "..");
        assert_eq!(relpath("/a", "/a"), ".");
        assert_eq!(relpath("/x/y", "/a/b"), "../../x/y");
    }
}
