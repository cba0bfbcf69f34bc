//! `file.recurse` (salt/states/file.py `recurse`): mirror a salt://
//! directory into a local one, each file through `file.managed` and each
//! directory through `file.directory`, with `clean`, include/exclude
//! patterns, `maxdepth` and `include_empty`. Changes are keyed by path.

use super::directory::{check_include_exclude, clean_dir, directory};
use super::managed::{check_user, error, managed, salt_url_parse};
use crate::modules::file as fmod;
use crate::states::{Ret, StateCall};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use std::path::Path;

/// `_is_valid_relpath`.
fn valid_relpath(rel: &str, maxdepth: Option<i128>) -> bool {
    if format!("/{rel}/").contains("/../") {
        return false;
    }
    if let Some(m) = maxdepth {
        if rel.trim_matches('/').matches('/').count() as i128 > m {
            return false;
        }
    }
    true
}

/// `cp.list_master_symlinks(saltenv, prefix)` for `file_roots`: links
/// (relative path -> link text) that stay inside their root.
fn list_master_symlinks(call: &StateCall, saltenv: &str, prefix: &str) -> Vec<(String, String)> {
    // Symlinks are listed from local roots only (remote: none, as with a
    // master that does not serve `_symlink_list`).
    if call.ctx.remote().is_some() {
        return Vec::new();
    }
    let client = crate::modules::roots_client(&call.ctx.opts, "file_roots");
    let mut out: Vec<(String, String)> = Vec::new();
    for root in client.roots.get(saltenv).into_iter().flatten() {
        let root_s = root.to_string_lossy().into_owned();
        let real_root = super::managed::realpath(&root_s);
        for (dir, dirs, files) in super::directory::walk(&root_s, None) {
            for n in dirs.iter().chain(&files) {
                let abs = fmod::py_join(&[dir.clone(), n.clone()]);
                let Ok(dest) = std::fs::read_link(&abs) else {
                    continue;
                };
                let dest = dest.to_string_lossy().into_owned();
                let joined = if dest.starts_with("..") {
                    fmod::py_join(&[abs.clone(), dest.clone()])
                } else {
                    fmod::py_join(&[fmod::py_dirname(&abs), dest.clone()])
                };
                let real = super::managed::realpath(&fmod::normpath(&joined));
                if super::directory::relpath(&real, &real_root).starts_with("..") {
                    continue;
                }
                let rel = super::directory::relpath(&abs, &root_s);
                if rel.starts_with(prefix.trim_matches('/')) && !out.iter().any(|(r, _)| *r == rel)
                {
                    out.push((rel, dest));
                }
            }
        }
    }
    out.sort();
    out
}

/// Call another state function with `args` as its low chunk.
fn sub_call(call: &StateCall, fun: fn(&StateCall) -> Result<Ret, String>, args: Map) -> Ret {
    let name = args.get(&Value::from("name")).cloned().unwrap_or_default();
    let sub = StateCall {
        ctx: call.ctx,
        low: &args,
        test: call.test,
        saltenv: call.saltenv,
        files: call.files,
        running: call.running,
    };
    fun(&sub).unwrap_or_else(|e| error(Ret::new(name), e))
}

/// `file.recurse`.
pub fn recurse(call: &StateCall) -> Result<Ret, String> {
    let name = fmod::expanduser(&call.name());
    let mut ret = Ret::new(name.as_str());
    let test = call.test;
    if call.low.contains_key(&Value::from("mode")) {
        return Ok(error(
            ret,
            "'mode' is not allowed in 'file.recurse'. Please use 'file_mode' and 'dir_mode'.",
        ));
    }
    let user = call
        .get("user")
        .filter(|u| u.truthy())
        .or_else(|| call.get("owner"))
        .cloned();
    let group = call.get("group").cloned();
    let dir_mode = fmod::normalize_mode(call.get("dir_mode"));
    let fm = call.get("file_mode").cloned();
    let keep_mode = matches!(&fm, Some(Value::Str(s)) if s.eq_ignore_ascii_case("keep"));
    let file_mode = if keep_mode {
        None
    } else {
        fmod::normalize_mode(fm.as_ref())
    };
    let clean = call.bool_or("clean", false)?;
    let replace = call.bool_or("replace", true)?;
    let include_empty = call.bool_or("include_empty", false)?;
    let include_pat = call.get("include_pat");
    let exclude_pat = call.get("exclude_pat");
    let maxdepth = call.opt_int("maxdepth")?;
    let keep_symlinks = call.bool_or("keep_symlinks", false)?;
    let force_symlinks = call.bool_or("force_symlinks", false)?;
    let u_check = check_user(user.as_ref(), group.as_ref());
    if !u_check.is_empty() && !test {
        return Ok(error(ret, u_check));
    }
    if !name.starts_with('/') {
        return Ok(error(
            ret,
            format!("Specified file {name} is not an absolute path"),
        ));
    }
    let sources: Vec<String> = match call.get("source") {
        Some(Value::List(l)) => l.iter().map(str_of).collect(),
        Some(v) => vec![str_of(v)],
        None => vec!["None".into()],
    };
    let sources: Vec<String> = sources
        .iter()
        .map(|s| s.trim_end_matches('/').to_string())
        .collect();
    for s in &sources {
        if !s.starts_with("salt://") {
            return Ok(error(
                ret,
                format!("Invalid source '{s}' (must be a salt:// URI)"),
            ));
        }
    }
    // source_list: the first source directory (or file) that exists.
    let mut found = None;
    for s in &sources {
        let (p, env) = salt_url_parse(s);
        let env = env.unwrap_or_else(|| call.saltenv.to_string());
        if call.files.list_files(&env).contains(&p) || call.files.list_dirs(&env).contains(&p) {
            found = Some((p, env));
            break;
        }
    }
    let Some((srcpath, senv)) = found else {
        return Ok(error(
            ret,
            "Recurse failed: none of the specified sources were found",
        ));
    };
    if !call.files.list_dirs(&senv).contains(&srcpath) {
        return Ok(error(
            ret,
            format!(
                "The directory '{srcpath}' does not exist on the salt fileserver in saltenv '{senv}'"
            ),
        ));
    }
    if !Path::new(&name).is_dir() {
        if Path::new(&name).exists() {
            return Ok(error(
                ret,
                format!("The path {name} exists and is not a directory"),
            ));
        }
        if !test {
            fmod::makedirs_perms(&name, user.as_ref(), group.as_ref(), dir_mode.as_deref())?;
        }
    }

    // _gen_recurse_managed_files
    let prefix = format!("{srcpath}/");
    let full_path = |rel: &str| fmod::normpath(&fmod::py_join(&[name.clone(), rel.to_string()]));
    let mut files: Vec<(String, String)> = Vec::new();
    let mut dirs: Vec<String> = Vec::new();
    let mut keep: Vec<String> = Vec::new();
    let mut master_files = call.files.list_files(&senv);
    // keep_symlinks: links under the source become links (process_symlinks).
    let mut links: Vec<(String, String)> = Vec::new();
    let symlinks = if keep_symlinks {
        list_master_symlinks(call, &senv, &prefix)
    } else {
        Vec::new()
    };
    for (lname, ltarget) in &symlinks {
        let Some(srel) = lname.strip_prefix(&prefix) else {
            continue;
        };
        if !valid_relpath(srel, maxdepth) || !check_include_exclude(srel, include_pat, exclude_pat)
        {
            continue;
        }
        let under = format!("{lname}/");
        master_files.retain(|f| !f.starts_with(&under));
        links.push((srel.to_string(), ltarget.clone()));
        keep.push(full_path(srel));
    }
    let mut vdir: Vec<String> = keep.clone();
    for f in master_files {
        let Some(rel) = f.strip_prefix(&prefix) else {
            continue;
        };
        if rel.trim().is_empty() || !valid_relpath(rel, maxdepth) {
            continue;
        }
        if !check_include_exclude(rel, include_pat, exclude_pat) {
            continue;
        }
        let dest = full_path(rel);
        let dn = fmod::py_dirname(&dest);
        keep.push(dest.clone());
        if !vdir.contains(&dn) {
            vdir.push(dn.clone());
            dirs.push(dn);
        }
        let src = if senv == "base" {
            format!("salt://{f}")
        } else {
            format!("salt://{f}?saltenv={senv}")
        };
        files.push((dest, src));
    }
    if include_empty {
        for d in call.files.list_dirs(&senv) {
            let Some(rel) = d.strip_prefix(&prefix) else {
                continue;
            };
            if !valid_relpath(rel, maxdepth)
                || !check_include_exclude(rel, include_pat, exclude_pat)
            {
                continue;
            }
            if symlinks
                .iter()
                .any(|(l, _)| d.starts_with(&format!("{l}/")))
            {
                continue;
            }
            let mdest = full_path(rel);
            if !dirs.contains(&mdest) {
                dirs.push(mdest.clone());
            }
            keep.push(mdest);
        }
    }
    dirs.sort();

    let mut comments: Vec<(String, Vec<String>)> = Vec::new();
    let mut add_comment =
        |path: &str, c: Vec<String>| match comments.iter_mut().find(|(p, _)| p == path) {
            Some((_, v)) => v.extend(c),
            None => comments.push((path.to_string(), c)),
        };
    let merge = |ret: &mut Ret, path: &str, sub: Ret, add: &mut dyn FnMut(&str, Vec<String>)| {
        if sub.result == Some(false) || ret.result == Some(true) {
            ret.result = sub.result;
        }
        if sub.result != Some(true) && sub.comment.truthy() {
            let c = match sub.comment {
                Value::List(l) => l.iter().map(str_of).collect(),
                c => vec![str_of(&c)],
            };
            add(path, c);
        }
        if !sub.changes.is_empty() {
            ret.changes
                .insert(Value::from(path), Value::Map(sub.changes));
        }
    };
    let put = |m: &mut Map, k: &str, v: Option<Value>| {
        m.insert(Value::from(k), v.unwrap_or(Value::Null));
    };

    // A file that is itself a kept link is managed last.
    files.sort_by_key(|(dest, _)| {
        links
            .iter()
            .any(|(l, _)| Path::new(&format!("{name}/{l}")) == Path::new(dest))
    });
    for (srel, target) in &links {
        let path = fmod::py_join(&[name.clone(), srel.clone()]);
        let mut args = Map::default();
        put(&mut args, "name", Some(Value::from(path.as_str())));
        put(&mut args, "target", Some(Value::from(target.as_str())));
        put(&mut args, "makedirs", Some(Value::Bool(true)));
        put(&mut args, "force", Some(Value::Bool(force_symlinks)));
        put(&mut args, "user", user.clone());
        put(&mut args, "group", group.clone());
        put(&mut args, "mode", call.get("sym_mode").cloned());
        let sub = sub_call(call, super::edit::symlink, args);
        merge(&mut ret, &path, sub, &mut add_comment);
    }
    for d in &dirs {
        if fmod::py_basename(d) == ".." {
            continue;
        }
        let p = Path::new(d);
        if clean && p.exists() && !p.is_dir() {
            let mut sub = Ret::new(name.as_str());
            if test {
                sub = sub.with(None, format!("Replacing {d} with a directory"));
                merge(&mut ret, d, sub, &mut add_comment);
                continue;
            }
            let _ = fmod::remove(d);
            sub.change("diff", "Replaced file with a directory");
            merge(&mut ret, d, sub, &mut add_comment);
        }
        let mut args = Map::default();
        put(&mut args, "name", Some(Value::from(d.as_str())));
        put(&mut args, "user", user.clone());
        put(&mut args, "group", group.clone());
        put(&mut args, "recurse", Some(Value::List(vec![])));
        put(&mut args, "dir_mode", dir_mode.clone().map(Value::from));
        put(&mut args, "makedirs", Some(Value::Bool(true)));
        let sub = sub_call(call, directory, args);
        merge(&mut ret, d, sub, &mut add_comment);
    }
    for (dest, src) in &files {
        let p = Path::new(dest);
        if clean && p.is_dir() && replace {
            let mut sub = Ret::new(name.as_str());
            if test {
                sub = sub.with(None, format!("Replacing directory {dest} with a file"));
                merge(&mut ret, dest, sub, &mut add_comment);
                continue;
            }
            let _ = fmod::remove(dest);
            sub.change("diff", "Replaced directory with a new file");
            merge(&mut ret, dest, sub, &mut add_comment);
        }
        let mut args = Map::default();
        for (k, v) in call.low {
            let Some(ks) = k.as_str() else { continue };
            if matches!(ks, "template" | "context" | "defaults" | "backup") {
                args.insert(k.clone(), v.clone());
            }
        }
        put(&mut args, "name", Some(Value::from(dest.as_str())));
        put(&mut args, "source", Some(Value::from(src.as_str())));
        put(&mut args, "user", user.clone());
        put(&mut args, "group", group.clone());
        let mode = if keep_mode {
            Some(Value::from("keep"))
        } else {
            file_mode.clone().map(Value::from)
        };
        put(&mut args, "mode", mode);
        put(&mut args, "makedirs", Some(Value::Bool(true)));
        put(&mut args, "replace", Some(Value::Bool(replace)));
        let sub = sub_call(call, managed, args);
        merge(&mut ret, dest, sub, &mut add_comment);
    }
    if clean {
        keep.extend(super::directory::keep_files(
            &name,
            call.get("require"),
            call.running,
        ));
        let removed = clean_dir(&name, &keep, exclude_pat, test);
        if !removed.is_empty() {
            if test {
                if ret.result == Some(true) {
                    ret.result = None;
                }
                add_comment("removed", removed);
            } else {
                ret.change(
                    "removed",
                    Value::List(removed.into_iter().map(Value::from).collect()),
                );
            }
        }
    }
    let comment = comments
        .iter()
        .map(|(k, v)| format!("\n#### {k} ####\n{}", v.join("\n")))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string();
    ret.comment = if comment.is_empty() {
        Value::from(format!("Recursively updated {name}"))
    } else {
        Value::from(comment)
    };
    if ret.changes.is_empty() && ret.result == Some(true) {
        ret.comment = Value::from(format!("The directory {name} is in the correct state"));
    }
    Ok(ret)
}
