//! Line-editing and link `file` states (salt/states/file.py): symlink,
//! touch, replace, append, prepend, line, blockreplace, comment, uncomment.
//!
//! Each state reads its arguments from the [`StateCall`], calls the Rust
//! execution functions of [`crate::modules::file_edit`] (Salt's
//! `__salt__["file.*"]`) and builds Salt's `ret` with the same `changes`,
//! `comment` and `result`. In test mode nothing is written and `result` is
//! `None` when something would change.

use crate::modules::file::{
    check_perms, expanduser, gid_to_group, group_to_gid, is_text, normalize_mode, py_dirname,
    stats, uid_to_user, user_to_uid,
};
use crate::modules::file_edit::{
    self as fe, diff_lines, diff_lines_nl_joined, str_splitlines, BlockArgs, EditError, LineArgs,
    ReplaceArgs, RE_M,
};
use crate::states::{Ret, StateCall};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{py_float_repr, Value};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn error(mut ret: Ret, msg: impl Into<String>) -> Result<Ret, String> {
    ret.result = Some(false);
    ret.comment = Value::from(msg.into());
    Ok(ret)
}

/// `_check_file`.
fn check_file(name: &str) -> Result<(), String> {
    if !name.starts_with('/') {
        Err(format!("Specified file {name} is not an absolute path"))
    } else if !Path::new(name).exists() {
        Err(format!("{name}: file not found"))
    } else {
        Ok(())
    }
}

fn em(e: EditError) -> String {
    e.message().to_string()
}

/// `_validate_str_list`: a string as one item, a list's items as `str()`.
fn validate_str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::List(l)) => l.iter().map(str_of).collect(),
        Some(other) => vec![str_of(other)],
        None => vec!["None".into()],
    }
}

/// `_unify_sources_and_hashes`'s error, checked before anything else.
fn unify_error(call: &StateCall) -> Option<&'static str> {
    let given = |k: &str| call.get(k).is_some_and(|v| v.truthy());
    if given("source") && given("sources") {
        return Some("source and sources are mutually exclusive");
    }
    if given("source_hash") && given("source_hashes") {
        return Some("source_hash and source_hashes are mutually exclusive");
    }
    None
}

/// `_unify_sources_and_hashes` + `_get_template_texts`: the rendered texts
/// of `source`/`sources` (`None` when neither is given), or the error `ret`.
fn template_texts(call: &StateCall, ret: &Ret) -> Result<Option<Result<Vec<String>, Ret>>, String> {
    let source = call.get("source").filter(|v| v.truthy());
    let sources = call.get("sources").filter(|v| v.truthy());
    let fail = |r: &Ret, name: Option<&str>, msg: String| {
        let mut r = r.clone();
        if let Some(n) = name {
            r.name = Value::from(n);
        }
        r.result = Some(false);
        r.comment = Value::from(msg);
        Ok(Some(Err(r)))
    };
    let list: Vec<String> = match (source, sources) {
        (Some(_), Some(_)) => {
            return fail(
                ret,
                None,
                "source and sources are mutually exclusive".into(),
            );
        }
        (Some(s), None) => vec![str_of(s)],
        (None, Some(Value::List(l))) => l.iter().map(str_of).collect(),
        (None, Some(other)) => vec![str_of(other)],
        (None, None) => return Ok(None),
    };
    let template = match call.get("template") {
        None => Some("jinja".to_string()),
        Some(v) if !v.truthy() => None,
        Some(v) => Some(str_of(v)),
    };
    let mut extra = brine_core::value::Map::default();
    for key in ["defaults", "context"] {
        if let Some(Value::Map(m)) = call.get(key) {
            for (k, v) in m {
                extra.insert(k.clone(), v.clone());
            }
        }
    }
    let mut texts = Vec::new();
    for src in list {
        let bytes = if let Some(rel) = src.strip_prefix("salt://") {
            let rel = rel.split('?').next().unwrap_or(rel);
            call.files
                .get(rel, call.saltenv)
                .map_err(|e| format!("{src}: {e}"))?
                .map(|d| d.bytes)
        } else {
            std::fs::read(src.strip_prefix("file://").unwrap_or(&src)).ok()
        };
        let Some(bytes) = bytes else {
            return fail(
                ret,
                Some(&src),
                format!("Failed to load template file {src}"),
            );
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let rendered = match template.as_deref() {
            None => text,
            Some("jinja") => {
                let pillar = call.ctx.pillar();
                let rctx = brine_core::render::RenderContext {
                    opts: &call.ctx.opts,
                    grains: call.ctx.grains(),
                    pillar: &pillar,
                    saltenv: call.saltenv,
                    sls: "",
                    functions: call.ctx,
                    file_client: call.files,
                    extra: extra.clone(),
                };
                match brine_core::render::render_template(&text, &src, &rctx) {
                    Ok(t) => t,
                    Err(e) => return fail(ret, Some(&src), e.message),
                }
            }
            Some(other) => {
                return Err(format!(
                    "Brine renders source templates with jinja only, not '{other}'"
                ))
            }
        };
        if rendered.is_empty() {
            return fail(
                ret,
                Some(&src),
                format!("Failed to read rendered template file {src} ({src})"),
            );
        }
        texts.push(rendered);
    }
    Ok(Some(Ok(texts)))
}

/// Salt's `_makedirs` for `name`: create the missing parents, owned by
/// `user`/`group`, with `mode`.
fn makedirs(
    name: &str,
    user: Option<&str>,
    group: Option<&str>,
    mode: Option<&str>,
) -> Result<(), String> {
    let parent = py_dirname(name);
    let mut missing = Vec::new();
    let mut p = Path::new(&parent);
    while !p.as_os_str().is_empty() && !p.is_dir() {
        missing.push(p.to_path_buf());
        match p.parent() {
            Some(pp) => p = pp,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        std::fs::create_dir(d).map_err(|e| fe::py_oserror(&e, &d.to_string_lossy()))?;
        let uid = user.and_then(user_to_uid);
        let gid = group.and_then(group_to_gid);
        if uid.is_some() || gid.is_some() {
            let _ = std::os::unix::fs::chown(d, uid, gid);
        }
        if let Some(bits) = mode.and_then(crate::modules::file::parse_mode) {
            let _ = std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(bits));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// symlink
// ---------------------------------------------------------------------------

/// The link's own owner and group names (`file.get_user/get_group` with
/// `follow_symlinks=False`).
fn symlink_ownership(path: &str) -> (String, String) {
    match std::fs::symlink_metadata(path) {
        Ok(md) => (
            uid_to_user(md.uid()).unwrap_or_else(|| md.uid().to_string()),
            gid_to_group(md.gid()).unwrap_or_else(|| md.gid().to_string()),
        ),
        Err(_) => (String::new(), String::new()),
    }
}

fn check_symlink_ownership(path: &str, user: &str, group: &str) -> bool {
    let (u, g) = symlink_ownership(path);
    u == user && g == group
}

fn set_symlink_ownership(path: &str, user: &str, group: &str) -> bool {
    let _ = std::os::unix::fs::lchown(path, user_to_uid(user), group_to_gid(group));
    check_symlink_ownership(path, user, group)
}

/// `_symlink_check`: (result, comment, changes).
fn symlink_check(
    name: &str,
    target: &str,
    force: bool,
    user: &str,
    group: &str,
    follow: bool,
) -> (Option<bool>, String, Vec<(&'static str, String)>) {
    let exists = if follow {
        Path::new(name).exists()
    } else {
        std::fs::symlink_metadata(name).is_ok()
    };
    if !exists && !fe::is_link(name) {
        return (
            None,
            format!("Symlink {name} to {target} is set for creation"),
            vec![("new", name.to_string())],
        );
    }
    if fe::is_link(name) {
        if fe::readlink(name, false).unwrap_or_default() != target {
            return (
                None,
                format!("Link {name} target is set to be changed to {target}"),
                vec![("change", name.to_string())],
            );
        }
        let mut msg = format!("The symlink {name} is present");
        if !check_symlink_ownership(name, user, group) {
            let (u, g) = symlink_ownership(name);
            msg.push_str(&format!(
                ", but the ownership of the symlink would be changed from {u}:{g} to {user}:{group}"
            ));
            return (None, msg, vec![("ownership", format!("{u}:{g}"))]);
        }
        return (Some(true), msg, vec![]);
    }
    if force {
        return (
            None,
            format!(
                "The file or directory {name} is set for removal to make way for a new symlink \
                 targeting {target}"
            ),
            vec![],
        );
    }
    (
        Some(false),
        format!("File or directory exists where the symlink {name} should be. Did you mean to use force?"),
        vec![],
    )
}

pub fn symlink(call: &StateCall) -> Result<Ret, String> {
    let name = expanduser(&call.name());
    let mut ret = Ret::new(name.as_str());
    if name.is_empty() {
        return error(ret, "Must provide name to file.symlink");
    }
    let target = call.opt_str("target")?.unwrap_or_default();
    let force = call.bool_or("force", false)?;
    let makedirs_ = call.bool_or("makedirs", false)?;
    let follow = call.bool_or("follow_symlinks", true)?;
    if call.get("backupname").is_some() {
        return Err("file.symlink: backupname is not supported by Brine yet".into());
    }
    let mode = normalize_mode(call.get("mode"));
    let mut user = call.opt_str("user")?.filter(|u| !u.is_empty());
    if user.is_none() {
        user = call.opt_str("owner")?;
    }
    let mut group = call.opt_str("group")?;
    if call.bool_or("inherit_user_and_group", false)?
        && (user.is_none() || group.is_none())
        && fe::is_link(&name)
    {
        let (u, g) = symlink_ownership(&name);
        user.get_or_insert(u);
        group.get_or_insert(g);
    }
    let user = user.unwrap_or_else(|| {
        call.ctx
            .opts
            .get("user")
            .map(str_of)
            .unwrap_or_else(|| "root".into())
    });
    let group = group.unwrap_or_else(|| {
        let info = crate::modules::user::info(&user);
        let gid = info
            .get(&Value::from("gid"))
            .and_then(Value::as_int)
            .unwrap_or(0);
        gid_to_group(gid as u32).unwrap_or_else(|| gid.to_string())
    });
    let mut preflight = Vec::new();
    if user_to_uid(&user).is_none() {
        preflight.push(format!("User {user} does not exist"));
    }
    if group_to_gid(&group).is_none() {
        preflight.push(format!("Group {group} does not exist"));
    }
    if !name.starts_with('/') {
        preflight.push(format!("Specified file {name} is not an absolute path"));
    }
    if !preflight.is_empty() {
        let mut msg = preflight.join(". ");
        if preflight.len() > 1 {
            msg.push('.');
        }
        return error(ret, msg);
    }
    let (tresult, mut tcomment, tchanges) =
        symlink_check(&name, &target, force, &user, &group, follow);
    let dir = py_dirname(&name);
    if !Path::new(&dir).is_dir() {
        if makedirs_ {
            if call.test {
                tcomment.push_str(&format!("\n{dir} will be created"));
            } else if let Err(e) = makedirs(&name, Some(&user), Some(&group), mode.as_deref()) {
                return error(ret, e);
            }
        } else if call.test {
            tcomment.push_str(&format!("\nDirectory {dir} for symlink is not present"));
        } else {
            return error(ret, format!("Directory {dir} for symlink is not present"));
        }
    }
    if call.test {
        ret.result = tresult;
        ret.comment = Value::from(tcomment);
        for (k, v) in tchanges {
            ret.change(k, v);
        }
        return Ok(ret);
    }
    let exists = if follow {
        Path::new(&name).exists()
    } else {
        std::fs::symlink_metadata(&name).is_ok()
    };
    if fe::is_link(&name) {
        let cur = fe::readlink(&name, false).unwrap_or_default();
        if fe::normpath(&cur) != fe::normpath(&target) {
            std::fs::remove_file(&name).map_err(|e| fe::py_oserror(&e, &name))?;
        } else {
            if check_symlink_ownership(&name, &user, &group) {
                ret.comment = Value::from(format!(
                    "Symlink {name} is present and owned by {user}:{group}"
                ));
            } else if set_symlink_ownership(&name, &user, &group) {
                ret.comment =
                    Value::from(format!("Set ownership of symlink {name} to {user}:{group}"));
                ret.change("ownership", format!("{user}:{group}"));
            } else {
                ret.result = Some(false);
                ret.comment = Value::from(format!(
                    "Failed to set ownership of symlink {name} to {user}:{group}"
                ));
            }
            return Ok(ret);
        }
    } else if exists && !force {
        let kind = if Path::new(&name).is_file() {
            "File"
        } else if Path::new(&name).is_dir() {
            "Directory"
        } else {
            "File system entry"
        };
        return error(
            ret,
            format!("{kind} exists where the symlink {name} should be"),
        );
    }
    match fe::symlink(&target, &name, force, false, follow) {
        Err(e) => {
            return error(
                ret,
                format!("Unable to create new symlink {name} -> {target}: {}", em(e)),
            )
        }
        Ok(_) => {
            ret.comment = Value::from(format!("Created new symlink {name} -> {target}"));
            ret.change("new", name.as_str());
        }
    }
    if !check_symlink_ownership(&name, &user, &group)
        && !set_symlink_ownership(&name, &user, &group)
    {
        ret.result = Some(false);
        ret.comment = Value::from(format!(
            "{}, but was unable to set ownership to {user}:{group}",
            str_of(&ret.comment)
        ));
    }
    Ok(ret)
}

// ---------------------------------------------------------------------------
// touch
// ---------------------------------------------------------------------------

fn time_arg(call: &StateCall, key: &str) -> Result<Option<Value>, String> {
    Ok(call.get(key).cloned())
}

/// `_check_touch` (test mode).
fn check_touch(name: &str, atime: Option<&Value>, mtime: Option<&Value>) -> Ret {
    let mut ret = Ret::new(name);
    ret.result = None;
    ret.change("new", name);
    if !Path::new(name).exists() {
        ret.comment = Value::from(format!("File {name} is set to be created"));
        return ret;
    }
    let st = stats(name, false).ok();
    let fmt = |f: Option<f64>| f.map(py_float_repr).unwrap_or_default();
    let differs =
        |want: Option<&Value>, have: Option<f64>| want.is_some_and(|w| str_of(w) != fmt(have));
    if differs(atime, st.as_ref().map(|s| s.atime)) || differs(mtime, st.as_ref().map(|s| s.mtime))
    {
        ret.comment = Value::from(format!("Times set to be updated on file {name}"));
        ret.changes.clear();
        ret.change("touched", name);
    } else {
        ret.result = Some(true);
        ret.comment = Value::from(format!("File {name} exists and has the correct times"));
    }
    ret
}

fn touch_times(v: Option<&Value>) -> Result<Option<i64>, String> {
    match v {
        None => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i as i64)),
        Some(v) if !v.truthy() => Ok(None),
        Some(v) => str_of(v)
            .parse::<i64>()
            .map(Some)
            .map_err(|_| "atime and mtime must be integers".to_string()),
    }
}

/// The `touch` state on `name` (also used by append/prepend).
fn touch_impl(
    name: &str,
    atime: Option<&Value>,
    mtime: Option<&Value>,
    makedirs_: bool,
    test: bool,
) -> Result<Ret, String> {
    let name = expanduser(name);
    let ret = Ret::new(name.as_str());
    if name.is_empty() {
        return error(ret, "Must provide name to file.touch");
    }
    if !name.starts_with('/') {
        return error(
            ret,
            format!("Specified file {name} is not an absolute path"),
        );
    }
    if test {
        return Ok(check_touch(&name, atime, mtime));
    }
    let mut ret = ret;
    if makedirs_ {
        makedirs(&name, None, None, None)?;
    }
    if !Path::new(&py_dirname(&name)).is_dir() {
        return error(ret, format!("Directory not present to touch file {name}"));
    }
    let extant = Path::new(&name).exists();
    let ok = fe::touch(&name, touch_times(atime)?, touch_times(mtime)?).map_err(em)?;
    ret.result = Some(ok);
    if !extant && ok {
        ret.comment = Value::from(format!("Created empty file {name}"));
        ret.change("new", name.as_str());
    } else if extant && ok {
        let kind = if Path::new(&name).is_dir() {
            "directory"
        } else {
            "file"
        };
        ret.comment = Value::from(format!("Updated times on {kind} {name}"));
        ret.change("touched", name.as_str());
    }
    Ok(ret)
}

pub fn touch(call: &StateCall) -> Result<Ret, String> {
    let atime = time_arg(call, "atime")?;
    let mtime = time_arg(call, "mtime")?;
    touch_impl(
        &call.name(),
        atime.as_ref(),
        mtime.as_ref(),
        call.bool_or("makedirs", false)?,
        call.test,
    )
}

// ---------------------------------------------------------------------------
// replace
// ---------------------------------------------------------------------------

pub fn replace(call: &StateCall) -> Result<Ret, String> {
    let name = expanduser(&call.name());
    let mut ret = Ret::new(name.as_str());
    if name.is_empty() {
        return error(ret, "Must provide name to file.replace");
    }
    let ignore_if_missing = call.bool_or("ignore_if_missing", false)?;
    if let Err(msg) = check_file(&name) {
        if ignore_if_missing && msg.contains("file not found") {
            ret.comment = Value::from("No changes needed to be made");
            return Ok(ret);
        }
        return error(ret, msg);
    }
    let pattern = call.get("pattern").map(str_of).unwrap_or_default();
    let repl = call.get("repl").map(str_of).unwrap_or_default();
    let mut a = ReplaceArgs::new(&pattern, &repl);
    a.count = call.opt_int("count")?.unwrap_or(0).max(0) as usize;
    if let Some(f) = call.get("flags") {
        a.flags = fe::get_flags(f).map_err(em)?;
    }
    a.append_if_not_found = call.bool_or("append_if_not_found", false)?;
    a.prepend_if_not_found = call.bool_or("prepend_if_not_found", false)?;
    a.not_found_content = call.get("not_found_content").map(str_of);
    a.backup = fe::backup_suffix(call.low.get(&Value::from("backup")), Some(".bak"));
    a.dry_run = call.test;
    a.show_changes = call.bool_or("show_changes", true)?;
    a.ignore_if_missing = ignore_if_missing;
    a.backslash_literal = call.bool_or("backslash_literal", false)?;
    let changes = fe::replace(&name, &a).map_err(em)?;
    finish(ret, changes, call.test, "Changes would have been made")
}

/// The common tail of replace/line/blockreplace.
fn finish(mut ret: Ret, changes: Value, test: bool, would: &str) -> Result<Ret, String> {
    if changes.truthy() {
        ret.change("diff", changes);
        if test {
            ret.result = None;
            ret.comment = Value::from(would);
        } else {
            ret.result = Some(true);
            ret.comment = Value::from("Changes were made");
        }
    } else {
        ret.result = Some(true);
        ret.comment = Value::from("No changes needed to be made");
    }
    Ok(ret)
}

// ---------------------------------------------------------------------------
// line
// ---------------------------------------------------------------------------

pub fn line(call: &StateCall) -> Result<Ret, String> {
    let name = expanduser(&call.name());
    let ret = Ret::new(name.as_str());
    if name.is_empty() {
        return error(ret, "Must provide name to file.line");
    }
    // `managed(name, create=create, user=..., group=..., mode=file_mode,
    // replace=False)`: create the empty file / fix its permissions.
    let user = call.get("user").cloned();
    let group = call.get("group").cloned();
    let file_mode = call.get("file_mode").cloned();
    if !call.test && name.starts_with('/') {
        let exists = Path::new(&name).exists();
        if !exists && call.bool_or("create", false)? && Path::new(&py_dirname(&name)).is_dir() {
            let bits = normalize_mode(file_mode.as_ref())
                .and_then(|m| crate::modules::file::parse_mode(&m));
            brine_core::fsutil::write_atomic(Path::new(&name), b"", bits)
                .map_err(|e| fe::py_oserror(&e, &name))?;
        }
        if Path::new(&name).exists() && (user.is_some() || group.is_some() || file_mode.is_some()) {
            let mut scratch = Ret::new(name.as_str());
            let _ = check_perms(
                &name,
                &mut scratch,
                user.as_ref(),
                group.as_ref(),
                file_mode.as_ref(),
                true,
                false,
            );
        }
    }
    if let Err(msg) = check_file(&name) {
        return error(ret, msg);
    }
    let mode = call.get("mode").map(str_of).map(|m| m.to_lowercase());
    let Some(mode) = mode.filter(|m| !m.is_empty()) else {
        return error(ret, "Mode was not defined. How to process the file?");
    };
    let content = call.get("content").map(str_of);
    if mode != "delete" && content.is_none() {
        return error(ret, "Content can only be empty if mode is ['delete']");
    }
    let a = LineArgs {
        content,
        match_: call.get("match").map(str_of),
        mode: Some(mode),
        location: call.get("location").map(str_of),
        before: call.get("before").map(str_of),
        after: call.get("after").map(str_of),
        show_changes: call.bool_or("show_changes", true)?,
        backup: call.get("backup").is_some_and(Value::truthy),
        quiet: call.bool_or("quiet", false)?,
        indent: call.bool_or("indent", true)?,
    };
    let changes = fe::line(&name, &a, call.test).map_err(em)?;
    finish(ret, changes, call.test, "Changes would be made")
}

// ---------------------------------------------------------------------------
// blockreplace
// ---------------------------------------------------------------------------

pub fn blockreplace(call: &StateCall) -> Result<Ret, String> {
    let name = expanduser(&call.name());
    let mut ret = Ret::new(name.as_str());
    ret.result = Some(false);
    if name.is_empty() {
        return error(ret, "Must provide name to file.blockreplace");
    }
    if let Some(e) = unify_error(call) {
        return error(ret, e);
    }
    if let Err(msg) = check_file(&name) {
        return error(ret, msg);
    }
    let texts = match template_texts(call, &ret)? {
        Some(Err(r)) => return Ok(r),
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let d = BlockArgs::default();
    let mut content = call.get("content").map(str_of).unwrap_or_default();
    for t in texts.unwrap_or_default() {
        content.push_str(&t);
    }
    let a = BlockArgs {
        marker_start: call
            .get("marker_start")
            .map(str_of)
            .unwrap_or(d.marker_start),
        marker_end: call.get("marker_end").map(str_of).unwrap_or(d.marker_end),
        content,
        append_if_not_found: call.bool_or("append_if_not_found", false)?,
        prepend_if_not_found: call.bool_or("prepend_if_not_found", false)?,
        backup: fe::backup_suffix(call.low.get(&Value::from("backup")), Some(".bak")),
        dry_run: call.test,
        show_changes: call.bool_or("show_changes", true)?,
        append_newline: call.get("append_newline").map(Value::truthy),
        insert_before_match: call.get("insert_before_match").map(str_of),
        insert_after_match: call.get("insert_after_match").map(str_of),
    };
    match fe::blockreplace(&name, &a) {
        Ok(changes) => finish(ret, changes, call.test, "Changes would be made"),
        Err(e) => {
            ret.comment = Value::from(format!(
                "Encountered error managing block: {}. See the log for details.",
                em(e)
            ));
            Ok(ret)
        }
    }
}

// ---------------------------------------------------------------------------
// comment / uncomment
// ---------------------------------------------------------------------------

/// `re.sub(r"^(\(\?[iLmsux]\))?\^?(.*?)\$?$", r"\2", regex)`.
fn unanchor(regex: &str) -> String {
    let mut s = regex;
    let b = s.as_bytes();
    if b.len() >= 4 && b[0] == b'(' && b[1] == b'?' && b"iLmsux".contains(&b[2]) && b[3] == b')' {
        s = &s[4..];
    }
    let s = s.strip_prefix('^').unwrap_or(s);
    s.strip_suffix('$').unwrap_or(s).to_string()
}

fn read_text(name: &str) -> Result<(Vec<u8>, String), String> {
    let data = std::fs::read(name).map_err(|e| fe::py_oserror(&e, name))?;
    let text = String::from_utf8_lossy(&data).into_owned();
    Ok((data, text))
}

fn record_diff(ret: &mut Ret, name: &str, old: &[String], new: &[String], joined: String) {
    if old != new {
        let text = std::fs::read(name).map(|d| is_text(&d)).unwrap_or(true);
        if !text {
            ret.change("diff", "Replace binary file");
        } else {
            ret.change("diff", joined);
        }
    }
}

pub fn comment(call: &StateCall) -> Result<Ret, String> {
    let name = expanduser(&call.name());
    let mut ret = Ret::new(name.as_str());
    ret.result = Some(false);
    if name.is_empty() {
        return error(ret, "Must provide name to file.comment");
    }
    if let Err(msg) = check_file(&name) {
        return error(ret, msg);
    }
    let regex = call.get("regex").map(str_of).unwrap_or_default();
    let char_ = call.get("char").map(str_of).unwrap_or_else(|| "#".into());
    let backup = fe::backup_suffix(call.low.get(&Value::from("backup")), Some(".bak"));
    let ignore_missing = call.bool_or("ignore_missing", false)?;
    let unanchored = unanchor(&regex);
    let comment_regex = format!("{char_}{unanchored}");
    if !fe::search_uncommented(&name, &char_, &unanchored).map_err(em)? {
        if fe::search(&name, &comment_regex, RE_M, false, true).map_err(em)? {
            ret.comment = Value::from("Pattern already commented");
            ret.result = Some(true);
            return Ok(ret);
        } else if ignore_missing {
            ret.comment = Value::from("Pattern not found and ignore_missing set to True");
            ret.result = Some(true);
            return Ok(ret);
        }
        return error(ret, format!("{unanchored}: Pattern not found"));
    }
    if call.test {
        ret.change(&name, "updated");
        ret.comment = Value::from(format!("File {name} is set to be updated"));
        ret.result = None;
        return Ok(ret);
    }
    let (_, before) = read_text(&name)?;
    let slines = str_splitlines(&before, true);
    fe::comment_line(&name, &regex, &char_, true, backup.as_deref()).map_err(em)?;
    let (_, after) = read_text(&name)?;
    let nlines = str_splitlines(&after, true);
    let ok = fe::search(&name, &comment_regex, RE_M, false, true).map_err(em)?;
    ret.result = Some(ok);
    let d = diff_lines(&slines, &nlines);
    record_diff(&mut ret, &name, &slines, &nlines, d);
    ret.comment = Value::from(if ok {
        "Commented lines successfully"
    } else {
        "Expected commented lines not found"
    });
    Ok(ret)
}

pub fn uncomment(call: &StateCall) -> Result<Ret, String> {
    let name = expanduser(&call.name());
    let mut ret = Ret::new(name.as_str());
    ret.result = Some(false);
    if name.is_empty() {
        return error(ret, "Must provide name to file.uncomment");
    }
    if let Err(msg) = check_file(&name) {
        return error(ret, msg);
    }
    let regex = call.get("regex").map(str_of).unwrap_or_default();
    let char_ = call.get("char").map(str_of).unwrap_or_else(|| "#".into());
    let backup = fe::backup_suffix(call.low.get(&Value::from("backup")), Some(".bak"));
    let stripped = regex.trim_start_matches('^');
    let uncommented = format!("^[ \t]*{stripped}");
    if fe::search(
        &name,
        &format!("{char_}[ \t]*{stripped}"),
        RE_M,
        false,
        true,
    )
    .map_err(em)?
    {
        // Commented: go on.
    } else if fe::search(&name, &uncommented, RE_M, false, true).map_err(em)? {
        ret.comment = Value::from("Pattern already uncommented");
        ret.result = Some(true);
        return Ok(ret);
    } else {
        return error(ret, format!("{regex}: Pattern not found"));
    }
    if call.test {
        ret.change(&name, "updated");
        ret.comment = Value::from(format!("File {name} is set to be updated"));
        ret.result = None;
        return Ok(ret);
    }
    let (old, _) = read_text(&name)?;
    let slines = crate::modules::file::readlines(&old);
    fe::comment_line(&name, &regex, &char_, false, backup.as_deref()).map_err(em)?;
    let (new, _) = read_text(&name)?;
    let nlines = crate::modules::file::readlines(&new);
    let ok = fe::search(&name, &uncommented, RE_M, false, true).map_err(em)?;
    ret.result = Some(ok);
    let d = diff_lines(&slines, &nlines);
    record_diff(&mut ret, &name, &slines, &nlines, d);
    ret.comment = Value::from(if ok {
        "Uncommented lines successfully"
    } else {
        "Expected uncommented lines not found"
    });
    Ok(ret)
}

// ---------------------------------------------------------------------------
// append / prepend
// ---------------------------------------------------------------------------

/// The makedirs/touch preamble of append and prepend; `Some(ret)` ends the
/// state there.
fn ensure_file(call: &StateCall, name: &str, ret: &mut Ret) -> Result<Option<Ret>, String> {
    let makedirs_ = call.get("makedirs") == Some(&Value::Bool(true));
    if makedirs_ {
        let dir = py_dirname(name);
        if call.test {
            ret.comment = Value::from(format!("Directory {dir} is set to be updated"));
            ret.result = None;
        } else if !Path::new(&dir).is_dir() {
            if let Err(e) = makedirs(name, None, None, None) {
                return error(ret.clone(), e).map(Some);
            }
        }
    }
    if let Err(msg) = check_file(name) {
        let touch_ret = touch_impl(name, None, None, makedirs_, call.test)?;
        if call.test {
            return Ok(Some(touch_ret));
        }
        if check_file(name).is_err() {
            return error(ret.clone(), msg).map(Some);
        }
    }
    Ok(None)
}

pub fn append(call: &StateCall) -> Result<Ret, String> {
    let given = call.name();
    let mut ret = Ret::new(given.as_str());
    ret.result = Some(false);
    if given.is_empty() {
        return error(ret, "Must provide name to file.append");
    }
    let name = expanduser(&given);
    if let Some(e) = unify_error(call) {
        return error(ret, e);
    }
    if let Some(r) = ensure_file(call, &name, &mut ret)? {
        return Ok(r);
    }
    let texts = match template_texts(call, &ret)? {
        Some(Err(r)) => return Ok(r),
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let text = match texts {
        Some(t) => t,
        None => validate_str_list(call.get("text")),
    };
    let ignore_whitespace = call.bool_or("ignore_whitespace", true)?;
    let (_, before) = read_text(&name)?;
    let slines = str_splitlines(&before, false);
    let mut append_lines = Vec::new();
    for chunk in &text {
        let pattern = if ignore_whitespace {
            fe::build_whitespace_split_regex(chunk)
        } else {
            chunk.clone()
        };
        if fe::search(&name, &pattern, RE_M, false, true).map_err(em)? {
            continue;
        }
        append_lines.extend(str_splitlines(chunk, false));
    }
    if call.test {
        ret.comment = Value::from(format!("File {name} is set to be updated"));
        ret.result = None;
        let mut nlines = slines.clone();
        nlines.extend(append_lines);
        if slines != nlines {
            let d = diff_lines_nl_joined(&slines, &nlines);
            record_diff(&mut ret, &name, &slines, &nlines, d);
        } else {
            ret.comment = Value::from(format!("File {name} is in correct state"));
            ret.result = Some(true);
        }
        return Ok(ret);
    }
    if !append_lines.is_empty() {
        fe::append(&name, &append_lines).map_err(em)?;
        ret.comment = Value::from(format!("Appended {} lines", append_lines.len()));
    } else {
        ret.comment = Value::from(format!("File {name} is in correct state"));
    }
    let (_, after) = read_text(&name)?;
    let nlines = str_splitlines(&after, false);
    let d = diff_lines_nl_joined(&slines, &nlines);
    record_diff(&mut ret, &name, &slines, &nlines, d);
    ret.result = Some(true);
    Ok(ret)
}

pub fn prepend(call: &StateCall) -> Result<Ret, String> {
    let name = expanduser(&call.name());
    let mut ret = Ret::new(name.as_str());
    ret.result = Some(false);
    if name.is_empty() {
        return error(ret, "Must provide name to file.prepend");
    }
    if let Some(e) = unify_error(call) {
        return error(ret, e);
    }
    if let Some(r) = ensure_file(call, &name, &mut ret)? {
        return Ok(r);
    }
    let texts = match template_texts(call, &ret)? {
        Some(Err(r)) => return Ok(r),
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let text = match texts {
        Some(t) => t,
        None => validate_str_list(call.get("text")),
    };
    let header = call.get("header").is_some_and(Value::truthy);
    let (_, before) = read_text(&name)?;
    let slines = str_splitlines(&before, true);
    let mut count = 0;
    let mut test_lines = Vec::new();
    let mut preface = Vec::new();
    for chunk in &text {
        if !header
            && fe::search(
                &name,
                &fe::build_whitespace_split_regex(chunk),
                RE_M,
                false,
                true,
            )
            .map_err(em)?
        {
            continue;
        }
        for l in str_splitlines(chunk, false) {
            if call.test {
                ret.comment = Value::from(format!("File {name} is set to be updated"));
                ret.result = None;
                test_lines.push(format!("{l}\n"));
            } else {
                preface.push(l);
            }
            count += 1;
        }
    }
    if call.test {
        let mut nlines = test_lines;
        nlines.extend(slines.iter().cloned());
        if slines != nlines {
            let d = diff_lines(&slines, &nlines);
            record_diff(&mut ret, &name, &slines, &nlines, d);
            ret.result = None;
        } else {
            ret.comment = Value::from(format!("File {name} is in correct state"));
            ret.result = Some(true);
        }
        return Ok(ret);
    }
    if header {
        let target: Vec<String> = slines
            .iter()
            .take(preface.len())
            .flat_map(|c| str_splitlines(c, false))
            .collect();
        if target != preface {
            fe::prepend(&name, &preface).map_err(em)?;
        } else {
            count = 0;
        }
    } else {
        fe::prepend(&name, &preface).map_err(em)?;
    }
    let (_, after) = read_text(&name)?;
    let nlines = str_splitlines(&after, true);
    let d = diff_lines(&slines, &nlines);
    record_diff(&mut ret, &name, &slines, &nlines, d);
    ret.comment = Value::from(if count > 0 {
        format!("Prepended {count} lines")
    } else {
        format!("File {name} is in correct state")
    });
    ret.result = Some(true);
    Ok(ret)
}
