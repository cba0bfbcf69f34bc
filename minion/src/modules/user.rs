//! `user` (salt/modules/useradd.py, Linux): `info`, `getent`,
//! `list_groups`, `list_users`, `primary_group`, `add`, `delete`, `chuid`,
//! `chgid`, `chshell`, `chhome`, `chgroups`, the GECOS setters and
//! `rename`, through useradd/usermod/userdel and /etc/passwd; `{}` for an
//! unknown user. Also the `shadow` functions the user state needs
//! (salt/modules/linux_shadow.py: `info`, `set_password`, `del_password`,
//! `lock_password`, `unlock_password`, chage setters), and the command
//! runner the account modules share.

use super::{bind, is_true, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("info", info_fn),
    ("list_groups", list_groups_fn),
    ("list_users", list_users_fn),
    ("getent", getent_fn),
    ("primary_group", primary_group_fn),
    ("add", add_fn),
    ("delete", delete_fn),
    ("chuid", chuid_fn),
    ("chgid", chgid_fn),
    ("chshell", chshell_fn),
    ("chhome", chhome_fn),
    ("chgroups", chgroups_fn),
    ("chfullname", chfullname_fn),
    ("chroomnumber", chroomnumber_fn),
    ("chworkphone", chworkphone_fn),
    ("chhomephone", chhomephone_fn),
    ("chother", chother_fn),
    ("rename", rename_fn),
];

/// What a command produced (`cmd.run_all`'s dict).
#[derive(Debug, Clone, Default)]
pub struct CmdOut {
    pub retcode: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `argv` without a shell, as `cmd.run_all(cmd, python_shell=False)`:
/// output right-stripped, stderr folded into stdout when `merge` (as
/// `cmd.run`), a non-zero exit recorded as the call's retcode unless
/// `ignore_retcode`.
pub fn run_argv(
    ctx: &Context,
    argv: &[String],
    merge: bool,
    ignore_retcode: bool,
) -> Result<CmdOut, String> {
    let Some((prog, rest)) = argv.split_first() else {
        return Err("Unable to run an empty command".into());
    };
    tracing::debug!("Executing command {:?}", argv);
    // useradd & co. change /etc/passwd: re-check it at the next lookup.
    super::file::forget_ids();
    let mut cmd = std::process::Command::new(prog);
    cmd.args(rest).stdin(std::process::Stdio::null());
    let out = if merge {
        let (mut reader, writer) =
            std::io::pipe().map_err(|e| format!("Unable to create a pipe: {e}"))?;
        let w2 = writer
            .try_clone()
            .map_err(|e| format!("Unable to create a pipe: {e}"))?;
        cmd.stdout(writer).stderr(w2);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("Unable to run command {argv:?}: {e}"))?;
        drop(cmd);
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut buf).map_err(|e| e.to_string())?;
        let status = child.wait().map_err(|e| e.to_string())?;
        CmdOut {
            retcode: status.code().unwrap_or(1),
            stdout: String::from_utf8_lossy(&buf).trim_end().to_string(),
            stderr: String::new(),
        }
    } else {
        let o = cmd
            .output()
            .map_err(|e| format!("Unable to run command {argv:?}: {e}"))?;
        CmdOut {
            retcode: o.status.code().unwrap_or(1),
            stdout: String::from_utf8_lossy(&o.stdout).trim_end().to_string(),
            stderr: String::from_utf8_lossy(&o.stderr).trim_end().to_string(),
        }
    };
    if out.retcode != 0 && !ignore_retcode {
        tracing::error!(
            "Command '{}' failed with return code: {}",
            argv.join(" "),
            out.retcode
        );
        ctx.set_retcode(out.retcode);
    }
    Ok(out)
}

/// Salt's `_which`: the command's path, or "Command 'x' cannot be found".
pub fn which(cmd: &str) -> Result<String, String> {
    super::cmd::path_which(cmd).ok_or_else(|| format!("Command '{cmd}' cannot be found"))
}

/// One /etc/passwd entry.
#[derive(Debug, Clone)]
pub struct Passwd {
    pub name: String,
    pub passwd: String,
    pub uid: i128,
    pub gid: i128,
    pub gecos: String,
    pub dir: String,
    pub shell: String,
}

/// Every /etc/passwd entry in file order (`pwd.getpwall`).
pub fn getpwall() -> Vec<Passwd> {
    let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.trim().split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(Passwd {
                name: f[0].into(),
                passwd: f[1].into(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                gecos: f[4].into(),
                dir: f[5].into(),
                shell: f[6].into(),
            })
        })
        .collect()
}

/// `pwd.getpwnam`.
pub fn getpwnam(name: &str) -> Option<Passwd> {
    getpwall().into_iter().find(|p| p.name == name)
}

/// `salt.utils.user.get_group_list`: the groups listing the user, plus its
/// primary group, sorted.
pub fn group_list(name: &str) -> Vec<String> {
    let Some(pw) = getpwnam(name) else {
        return Vec::new();
    };
    let mut groups = std::collections::BTreeSet::new();
    for g in super::group::getgrall() {
        if g.members.iter().any(|m| m == name) || g.gid == pw.gid {
            groups.insert(g.name);
        }
    }
    groups.into_iter().collect()
}

/// The five GECOS fields.
fn gecos_fields(gecos: &str) -> [String; 5] {
    let mut f: Vec<String> = gecos.splitn(5, ',').map(str::to_string).collect();
    while f.len() < 5 {
        f.push(String::new());
    }
    f.try_into().unwrap_or_default()
}

const GECOS_KEYS: [&str; 5] = ["fullname", "roomnumber", "workphone", "homephone", "other"];

fn format_info(pw: &Passwd) -> Map {
    let mut m = Map::default();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::from(k), v);
    };
    put("gid", Value::Int(pw.gid));
    put(
        "groups",
        Value::List(group_list(&pw.name).into_iter().map(Value::Str).collect()),
    );
    put("home", Value::from(pw.dir.as_str()));
    put("name", Value::from(pw.name.as_str()));
    put("passwd", Value::from(pw.passwd.as_str()));
    put("shell", Value::from(pw.shell.as_str()));
    put("uid", Value::Int(pw.uid));
    for (k, v) in GECOS_KEYS.iter().zip(gecos_fields(&pw.gecos)) {
        put(k, Value::Str(v));
    }
    m
}

/// `user.info`: an empty map for an unknown user.
pub fn info(name: &str) -> Map {
    getpwnam(name).map(|p| format_info(&p)).unwrap_or_default()
}

/// What `user.add` takes.
#[derive(Debug, Clone, Default)]
pub struct AddArgs {
    pub uid: Option<Value>,
    pub gid: Option<Value>,
    pub groups: Option<Vec<String>>,
    pub home: Option<String>,
    pub shell: Option<String>,
    pub unique: bool,
    pub system: bool,
    /// fullname, roomnumber, workphone, homephone, other.
    pub gecos: [Option<String>; 5],
    pub createhome: bool,
    pub nologinit: bool,
    pub usergroup: Option<bool>,
}

/// Whether /etc/login.defs says `USERGROUPS_ENAB yes`.
fn usergroups_enab() -> bool {
    let Ok(text) = std::fs::read_to_string("/etc/login.defs") else {
        return false;
    };
    for line in text.lines() {
        let head: String = line.chars().take(15).collect();
        if head.contains("USERGROUPS_ENAB") {
            return line.contains("yes");
        }
    }
    false
}

/// `user.add`: useradd, then the groups and GECOS fields.
pub fn add(ctx: &Context, name: &str, a: &AddArgs) -> Result<bool, String> {
    let mut argv = vec![which("useradd")?];
    let given = |v: &Option<Value>| {
        v.as_ref()
            .filter(|v| !v.is_null() && **v != Value::from(""))
            .map(str_of)
    };
    if let Some(sh) = a.shell.as_ref().filter(|s| !s.is_empty()) {
        argv.extend(["-s".into(), sh.clone()]);
    }
    if let Some(uid) = given(&a.uid) {
        argv.extend(["-u".into(), uid]);
    }
    if let Some(gid) = given(&a.gid) {
        argv.extend(["-g".into(), gid]);
    } else if a.usergroup == Some(true) {
        argv.push("-U".into());
    } else if a
        .groups
        .as_ref()
        .is_some_and(|g| g.iter().any(|x| x == name))
        && usergroups_enab()
    {
        argv.extend([
            "-g".into(),
            str_of(&super::group::group_to_gid(&Value::from(name))),
        ]);
    }
    if a.usergroup == Some(false) {
        argv.push("-N".into());
    }
    argv.push(if a.createhome { "-m" } else { "-M" }.into());
    if a.nologinit {
        argv.push("-l".into());
    }
    if let Some(home) = &a.home {
        argv.extend(["-d".into(), home.clone()]);
    }
    if !a.unique {
        argv.push("-o".into());
    }
    if a.system {
        argv.push("-r".into());
    }
    argv.push(name.into());
    if run_argv(ctx, &argv, false, false)?.retcode != 0 {
        return Ok(false);
    }
    if let Some(groups) = a.groups.as_ref().filter(|g| !g.is_empty()) {
        chgroups(ctx, name, groups, false)?;
    }
    for (key, v) in GECOS_KEYS.iter().zip(&a.gecos) {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            update_gecos(ctx, name, key, v)?;
        }
    }
    Ok(true)
}

/// `user.delete`: userdel (`-r` to purge, `-f` to force). Debian's exit
/// code 12 about the mail spool counts as success, as in Salt.
pub fn delete(ctx: &Context, name: &str, remove: bool, force: bool) -> Result<bool, String> {
    let mut argv = vec![which("userdel")?];
    if remove {
        argv.push("-r".into());
    }
    if force {
        argv.push("-f".into());
    }
    argv.push(name.into());
    let r = run_argv(ctx, &argv, false, false)?;
    if r.retcode == 0 {
        return Ok(true);
    }
    let debian = ctx
        .grains()
        .get("os_family")
        .and_then(Value::as_str)
        .is_some_and(|f| f == "Debian");
    Ok(r.retcode == 12
        && debian
        && (r.stderr.contains("var/mail") || r.stderr.contains("var/spool/mail")))
}

/// Salt's `_chattrib`: `usermod PARAM value name` unless already set; true
/// when `info[key]` then equals `value` (Python equality).
fn chattrib(
    ctx: &Context,
    name: &str,
    key: &str,
    value: &Value,
    param: &str,
    persist: bool,
) -> Result<bool, String> {
    let pre = info(name);
    if pre.is_empty() {
        return Err(format!("User '{name}' does not exist"));
    }
    if pre.get(&Value::from(key)) == Some(value) {
        return Ok(true);
    }
    let mut argv = vec![which("usermod")?];
    if persist {
        argv.push("-m".into());
    }
    argv.extend([param.into(), str_of(value), name.into()]);
    run_argv(ctx, &argv, true, false)?;
    // Re-read under the old name, as Salt does (so a rename reports false).
    Ok(info(name).get(&Value::from(key)) == Some(value))
}

/// `user.chuid`.
pub fn chuid(ctx: &Context, name: &str, uid: &Value) -> Result<bool, String> {
    chattrib(ctx, name, "uid", uid, "-u", false)
}

/// `user.chgid`.
pub fn chgid(ctx: &Context, name: &str, gid: &Value) -> Result<bool, String> {
    chattrib(ctx, name, "gid", gid, "-g", false)
}

/// `user.chshell`.
pub fn chshell(ctx: &Context, name: &str, shell: &Value) -> Result<bool, String> {
    chattrib(ctx, name, "shell", shell, "-s", false)
}

/// `user.chhome` (`persist`: move the old home's content, `usermod -m`).
pub fn chhome(ctx: &Context, name: &str, home: &Value, persist: bool) -> Result<bool, String> {
    chattrib(ctx, name, "home", home, "-d", persist)
}

/// `user.chgroups`: `usermod [-a] -G a,b name`; falls back to `gpasswd -a`
/// per group when usermod says a group is "not found in" a database.
pub fn chgroups(
    ctx: &Context,
    name: &str,
    groups: &[String],
    append: bool,
) -> Result<bool, String> {
    let current: std::collections::BTreeSet<String> = group_list(name).into_iter().collect();
    let wanted: std::collections::BTreeSet<String> = groups.iter().cloned().collect();
    if current == wanted {
        return Ok(true);
    }
    let mut argv = vec![which("usermod")?];
    if append {
        argv.push("-a".into());
    }
    argv.extend(["-G".into(), groups.join(","), name.into()]);
    let r = run_argv(ctx, &argv, false, false)?;
    if r.retcode != 0 && r.stderr.contains("not found in") {
        let mut ok = true;
        for g in groups {
            let argv = vec!["gpasswd".into(), "-a".into(), name.into(), g.clone()];
            if run_argv(ctx, &argv, false, false)?.retcode != 0 {
                ok = false;
            }
        }
        return Ok(ok);
    }
    Ok(r.retcode == 0)
}

/// Salt's `_update_gecos`: set one GECOS field with `usermod -c`.
pub fn update_gecos(ctx: &Context, name: &str, key: &str, value: &str) -> Result<bool, String> {
    let Some(pw) = getpwnam(name) else {
        return Err(format!("User '{name}' does not exist"));
    };
    let mut fields = gecos_fields(&pw.gecos);
    let Some(idx) = GECOS_KEYS.iter().position(|k| *k == key) else {
        return Ok(false);
    };
    if fields[idx] == value {
        return Ok(true);
    }
    fields[idx] = value.to_string();
    let gecos = fields.join(",").trim_end_matches(',').to_string();
    let argv = vec![which("usermod")?, "-c".into(), gecos, name.into()];
    run_argv(ctx, &argv, true, false)?;
    Ok(getpwnam(name).is_some_and(|p| gecos_fields(&p.gecos)[idx] == value))
}

/// `shadow.info`: the /etc/shadow entry (`-1` for empty numeric fields),
/// or every field `""` for an unknown user.
pub fn shadow_info(name: &str) -> Map {
    const KEYS: [&str; 8] = [
        "name", "passwd", "lstchg", "min", "max", "warn", "inact", "expire",
    ];
    let text = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
    let mut m = Map::default();
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split(':').collect();
        if f.len() < 9 || f[0] != name {
            continue;
        }
        m.insert(Value::from("name"), Value::from(f[0]));
        m.insert(Value::from("passwd"), Value::from(f[1]));
        for (i, k) in KEYS.iter().enumerate().skip(2) {
            let v = f[i].parse::<i128>().unwrap_or(-1);
            m.insert(Value::from(*k), Value::Int(v));
        }
        return m;
    }
    for k in KEYS {
        m.insert(Value::from(k), Value::from(""));
    }
    m
}

/// The `passwd` field of `shadow.info`.
pub fn shadow_passwd(name: &str) -> String {
    shadow_info(name)
        .get(&Value::from("passwd"))
        .map(str_of)
        .unwrap_or_default()
}

/// `shadow.set_password`: write the hash (and today as last change) into
/// /etc/shadow, keeping the file's owner and mode.
pub fn set_password(ctx: &Context, name: &str, password: &str) -> Result<bool, String> {
    let id = vec!["id".to_string(), name.to_string()];
    if run_argv(ctx, &id, false, true)?.retcode != 0 {
        tracing::warn!("user {name} does not exist, cannot set password");
        return Ok(false);
    }
    let path = std::path::Path::new("/etc/shadow");
    if !path.is_file() {
        return Ok(false);
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86400)
        .unwrap_or(0);
    let mut found = false;
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut f: Vec<String> = line.trim().split(':').take(9).map(str::to_string).collect();
        if f[0] == name {
            f.resize(9, String::new());
            found = true;
            f[1] = password.to_string();
            f[2] = days.to_string();
            out.push_str(&f.join(":"));
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    if !found {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{name}:{password}:{days}::::::\n"));
    }
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    brine_core::fsutil::write_atomic(path, out.as_bytes(), None).map_err(|e| e.to_string())?;
    {
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::chown(path, Some(meta.uid()), Some(meta.gid()));
    }
    Ok(shadow_passwd(name) == password)
}

/// `shadow.del_password`: `passwd -d`.
pub fn del_password(ctx: &Context, name: &str) -> Result<bool, String> {
    let argv = vec!["passwd".into(), "-d".into(), name.into()];
    run_argv(ctx, &argv, true, false)?;
    let i = shadow_info(name);
    Ok(shadow_passwd(name).is_empty() && i.get(&Value::from("name")) == Some(&Value::from(name)))
}

/// `shadow.lock_password` (`lock`) / `shadow.unlock_password`.
pub fn lock_password(ctx: &Context, name: &str, lock: bool) -> Result<bool, String> {
    let pre = shadow_passwd(name);
    if pre.starts_with('!') == lock {
        return Ok(true);
    }
    let flag = if lock { "-l" } else { "-u" };
    let argv = vec!["passwd".into(), flag.into(), name.into()];
    run_argv(ctx, &argv, true, false)?;
    Ok(shadow_passwd(name).starts_with('!') == lock)
}

/// The chage setters (`shadow.set_mindays` & co): `key` is the
/// `shadow.info` key, `param` chage's flag.
pub fn shadow_set(
    ctx: &Context,
    name: &str,
    key: &str,
    param: &str,
    value: &Value,
) -> Result<bool, String> {
    let pre = shadow_info(name);
    if pre
        .get(&Value::from("name"))
        .is_none_or(|n| str_of(n).is_empty())
    {
        return Ok(false);
    }
    if pre.get(&Value::from(key)) == Some(value) {
        return Ok(true);
    }
    let argv = vec!["chage".into(), param.into(), str_of(value), name.into()];
    run_argv(ctx, &argv, false, false)?;
    Ok(shadow_info(name).get(&Value::from(key)) == Some(value))
}

fn name_arg(b: &super::Bound) -> String {
    str_of(&b.get(0, Value::Null))
}

fn info_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "user.info",
        &["name", "root"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    Ok(Value::Map(info(&name_arg(&b))))
}

fn list_groups_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("user.list_groups", &["name"], 1, false, false, args, kwargs)?;
    Ok(Value::List(
        group_list(&name_arg(&b))
            .into_iter()
            .map(Value::Str)
            .collect(),
    ))
}

fn list_users_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("user.list_users", &["root"], 0, false, false, args, kwargs)?;
    let mut names: Vec<String> = getpwall().into_iter().map(|p| p.name).collect();
    names.sort();
    Ok(Value::List(names.into_iter().map(Value::Str).collect()))
}

fn getent_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind(
        "user.getent",
        &["refresh", "root"],
        0,
        false,
        false,
        args,
        kwargs,
    )?;
    Ok(Value::List(
        getpwall()
            .iter()
            .map(|p| Value::Map(format_info(p)))
            .collect(),
    ))
}

fn primary_group_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "user.primary_group",
        &["name"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let argv = vec!["id".into(), "-g".into(), "-n".into(), name_arg(&b)];
    Ok(Value::Str(run_argv(ctx, &argv, true, false)?.stdout))
}

fn str_list(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().map(str_of).collect(),
        Value::Null => Vec::new(),
        other => str_of(other).split(',').map(str::to_string).collect(),
    }
}

fn add_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "user.add",
        &[
            "name",
            "uid",
            "gid",
            "groups",
            "home",
            "shell",
            "unique",
            "system",
            "fullname",
            "roomnumber",
            "workphone",
            "homephone",
            "other",
            "createhome",
            "loginclass",
            "nologinit",
            "root",
            "usergroup",
            "local",
        ],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let a = AddArgs {
        uid: b.opt(1).cloned(),
        gid: b.opt(2).cloned(),
        groups: b.opt(3).map(str_list),
        home: b.str(4),
        shell: b.opt(5).filter(|v| v.truthy()).map(str_of),
        unique: b.opt(6).is_none_or(Value::truthy),
        system: b.opt(7).is_some_and(Value::truthy),
        gecos: [b.str(8), b.str(9), b.str(10), b.str(11), b.str(12)],
        createhome: b.params[13].as_ref().is_none_or(Value::truthy),
        nologinit: b.opt(15).is_some_and(Value::truthy),
        usergroup: b.opt(17).map(Value::truthy),
    };
    add(ctx, &name_arg(&b), &a).map(Value::Bool)
}

fn delete_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "user.delete",
        &["name", "remove", "force", "root", "local"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let remove = b.opt(1).is_some_and(Value::truthy);
    let force = b.opt(2).is_some_and(Value::truthy);
    delete(ctx, &name_arg(&b), remove, force).map(Value::Bool)
}

fn two(fun: &str, second: &str, args: Vec<Value>, kwargs: Map) -> Result<(String, Value), String> {
    let b = bind(
        fun,
        &["name", second, "root"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    Ok((name_arg(&b), b.get(1, Value::Null)))
}

fn chuid_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let (n, v) = two("user.chuid", "uid", args, kwargs)?;
    chuid(ctx, &n, &v).map(Value::Bool)
}

fn chgid_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let (n, v) = two("user.chgid", "gid", args, kwargs)?;
    chgid(ctx, &n, &v).map(Value::Bool)
}

fn chshell_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let (n, v) = two("user.chshell", "shell", args, kwargs)?;
    chshell(ctx, &n, &v).map(Value::Bool)
}

fn chhome_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "user.chhome",
        &["name", "home", "persist", "root"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let persist = b.opt(2).is_some_and(Value::truthy);
    chhome(ctx, &name_arg(&b), &b.get(1, Value::Null), persist).map(Value::Bool)
}

fn chgroups_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "user.chgroups",
        &["name", "groups", "append", "root"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let groups = str_list(&b.get(1, Value::Null));
    let append = b.opt(2).is_some_and(is_true);
    chgroups(ctx, &name_arg(&b), &groups, append).map(Value::Bool)
}

fn gecos_fn(ctx: &Context, key: &str, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let (n, v) = two(&format!("user.ch{key}"), key, args, kwargs)?;
    let v = if v.is_null() {
        String::new()
    } else {
        str_of(&v)
    };
    update_gecos(ctx, &n, key, &v).map(Value::Bool)
}

fn chfullname_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    gecos_fn(ctx, "fullname", args, kwargs)
}

fn chroomnumber_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    gecos_fn(ctx, "roomnumber", args, kwargs)
}

fn chworkphone_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    gecos_fn(ctx, "workphone", args, kwargs)
}

fn chhomephone_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    gecos_fn(ctx, "homephone", args, kwargs)
}

fn chother_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    gecos_fn(ctx, "other", args, kwargs)
}

fn rename_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let (n, v) = two("user.rename", "new_name", args, kwargs)?;
    if !info(&str_of(&v)).is_empty() {
        return Err(format!("User '{}' already exists", str_of(&v)));
    }
    chattrib(ctx, &n, "name", &v, "-l", false).map(Value::Bool)
}
