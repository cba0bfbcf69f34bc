//! `user` states (salt/states/user.py, Linux with shadow passwords):
//! `present` (uid, gid, usergroup, groups, optional_groups, remove_groups,
//! home, createhome, password hash, empty_password, password_lock, shell,
//! unique, system, GECOS fields, shadow ageing fields) and `absent`.

use super::{Ret, StateCall, StateFunction};
use crate::modules::{group, user};
use brine_core::output::pyrepr::{repr, str_of};
use brine_core::value::{Map, Value};
use std::collections::BTreeSet;

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "present",
        fun: present,
        required: &["name"],
        params: Some(&[
            "name",
            "uid",
            "gid",
            "usergroup",
            "groups",
            "optional_groups",
            "remove_groups",
            "home",
            "createhome",
            "password",
            "hash_password",
            "enforce_password",
            "empty_password",
            "shell",
            "unique",
            "system",
            "fullname",
            "roomnumber",
            "workphone",
            "homephone",
            "other",
            "loginclass",
            "date",
            "mindays",
            "maxdays",
            "inactdays",
            "warndays",
            "expire",
            "win_homedrive",
            "win_profile",
            "win_logonscript",
            "win_description",
            "nologinit",
            "allow_uid_change",
            "allow_gid_change",
            "password_lock",
            "local",
        ]),
    },
    StateFunction {
        name: "absent",
        fun: absent,
        required: &["name"],
        params: Some(&["name", "purge", "force", "local"]),
    },
];

const REDACTED: &str = "XXX-REDACTED-XXX";

/// The shadow ageing arguments: (state argument, shadow.info key, chage flag).
const SHADOW_ATTRS: [(&str, &str, &str); 6] = [
    ("date", "lstchg", "-d"),
    ("mindays", "min", "-m"),
    ("maxdays", "max", "-M"),
    ("inactdays", "inact", "-I"),
    ("warndays", "warn", "-W"),
    ("expire", "expire", "-E"),
];

/// Everything `present` takes, read and type-checked once.
struct Args {
    uid: Option<Value>,
    gid: Option<Value>,
    usergroup: Option<bool>,
    groups: Option<Vec<String>>,
    optional_groups: Option<Vec<String>>,
    remove_groups: bool,
    home: Option<String>,
    createhome: bool,
    password: Option<String>,
    enforce_password: bool,
    empty_password: bool,
    shell: Option<String>,
    unique: bool,
    system: bool,
    /// fullname, roomnumber, workphone, homephone, other.
    gecos: [Option<String>; 5],
    /// date, mindays, maxdays, inactdays, warndays, expire.
    shadow: [Option<Value>; 6],
    nologinit: bool,
    allow_uid_change: bool,
    allow_gid_change: bool,
    password_lock: Option<bool>,
}

const GECOS: [&str; 5] = ["fullname", "roomnumber", "workphone", "homephone", "other"];

fn scalar(call: &StateCall, key: &str) -> Result<Option<Value>, String> {
    match call.get(key) {
        Some(v @ (Value::List(_) | Value::Map(_) | Value::Bytes(_))) => {
            Err(call.type_error(key, "a string or an integer", v))
        }
        v => Ok(v.cloned()),
    }
}

fn names(call: &StateCall, key: &str) -> Result<Option<Vec<String>>, String> {
    Ok(call.opt_list(key)?.map(|l| l.iter().map(str_of).collect()))
}

fn opt_bool(call: &StateCall, key: &str) -> Result<Option<bool>, String> {
    match call.get(key) {
        None => Ok(None),
        Some(_) => call.bool_or(key, false).map(Some),
    }
}

fn int_arg(call: &StateCall, key: &str) -> Result<Option<Value>, String> {
    Ok(call.opt_int(key)?.map(Value::Int))
}

impl Args {
    fn read(call: &StateCall) -> Result<Args, String> {
        let mut gecos: [Option<String>; 5] = Default::default();
        for (slot, key) in gecos.iter_mut().zip(GECOS) {
            *slot = scalar(call, key)?.map(|v| str_of(&v));
        }
        let mut shadow: [Option<Value>; 6] = Default::default();
        for (slot, (key, _, _)) in shadow.iter_mut().zip(SHADOW_ATTRS) {
            *slot = if key == "date" || key == "expire" {
                scalar(call, key)?
            } else {
                int_arg(call, key)?
            };
        }
        Ok(Args {
            uid: scalar(call, "uid")?,
            gid: scalar(call, "gid")?,
            usergroup: opt_bool(call, "usergroup")?,
            groups: names(call, "groups")?,
            optional_groups: names(call, "optional_groups")?,
            remove_groups: call.bool_or("remove_groups", true)?,
            home: call.opt_str("home")?,
            createhome: call.bool_or("createhome", true)?,
            password: call.opt_str("password")?,
            enforce_password: call.bool_or("enforce_password", true)?,
            empty_password: call.bool_or("empty_password", false)?,
            shell: call.opt_str("shell")?,
            unique: call.bool_or("unique", true)?,
            system: call.bool_or("system", false)?,
            gecos,
            shadow,
            nologinit: call.bool_or("nologinit", false)?,
            allow_uid_change: call.bool_or("allow_uid_change", false)?,
            allow_gid_change: call.bool_or("allow_gid_change", false)?,
            password_lock: opt_bool(call, "password_lock")?,
        })
    }
}

/// `hash_password`: crypt the clear-text password as Salt's
/// `shadow.gen_password` does, reusing the salt and algorithm of the
/// current hash when it has the plain `$id$salt$hash` form (so an
/// unchanged password is not reported as a change), else SHA-512 with a
/// random salt. Done with `openssl passwd`.
fn hash_password(name: &str, clear: &str) -> Result<String, String> {
    let current = user::shadow_passwd(name);
    let parts: Vec<&str> = current.splitn(4, '$').collect();
    let (flag, salt) = match parts.as_slice() {
        ["", algo, salt, _] if !current[1..].contains("$rounds=") => match *algo {
            "1" => ("-1", Some(*salt)),
            "5" => ("-5", Some(*salt)),
            "6" => ("-6", Some(*salt)),
            other => return Err(format!("Unsupported password hash algorithm '{other}'")),
        },
        _ => ("-6", None),
    };
    let mut argv = vec![user::which("openssl")?, "passwd".into(), flag.into()];
    if let Some(s) = salt {
        argv.extend(["-salt".into(), s.to_string()]);
    }
    argv.extend(["-stdin".to_string()]);
    use std::io::Write;
    let mut child = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("Unable to hash the password: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(format!("{clear}\n").as_bytes())
            .map_err(|e| format!("Unable to hash the password: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("Unable to hash the password: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "Unable to hash the password: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Salt's `_group_changes`: whether the supplementary groups must change
/// (groups sharing a gid count as one).
fn group_changes(cur: &[String], wanted: &[String], remove: bool) -> bool {
    let cur: BTreeSet<&String> = cur.iter().collect();
    let wanted: BTreeSet<&String> = wanted.iter().collect();
    if cur == wanted || (!remove && wanted.is_subset(&cur)) {
        return false;
    }
    let gid_of = |g: &str| group::getgrnam(g).map(|x| x.gid);
    let all: Vec<&String> = cur.union(&wanted).copied().collect();
    let diff: Vec<&String> = if remove {
        wanted.symmetric_difference(&cur).copied().collect()
    } else {
        wanted.difference(&cur).copied().collect()
    };
    let mut remain = diff.clone();
    for d in &diff {
        for g in &all {
            if g == d {
                continue;
            }
            if gid_of(d) == gid_of(g) {
                if let Some(i) = remain.iter().position(|x| x == d) {
                    remain.remove(i);
                }
            }
        }
    }
    !remain.is_empty()
}

fn remove_item(v: &mut Vec<String>, item: &str) {
    if let Some(i) = v.iter().position(|x| x == item) {
        v.remove(i);
    }
}

/// Salt's `_changes`: `None` when the user is absent, else the needed
/// changes in Salt's order. `Err` lists uid/gid changes not permitted.
fn changes(
    name: &str,
    a: &Args,
    gid: &Option<Value>,
    optional: &Option<Vec<String>>,
    allow: bool,
) -> Result<Option<Map>, String> {
    let lusr = user::info(name);
    if lusr.is_empty() {
        return Ok(None);
    }
    let lshad = user::shadow_info(name);
    let get = |k: &str| lusr.get(&Value::from(k)).cloned().unwrap_or(Value::Null);
    let lgid = get("gid");
    let luid = get("uid");
    let mut lgroups: Vec<String> = get("groups")
        .as_list()
        .map(|l| l.iter().map(str_of).collect())
        .unwrap_or_default();
    let mut change = Map::default();
    let mut put = |k: &str, v: Value| {
        change.insert(Value::from(k), v);
    };
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    wanted.extend(a.groups.iter().flatten().cloned());
    wanted.extend(optional.iter().flatten().cloned());
    // Groups sharing a gid, by gid.
    let gids: Vec<Value> = lgroups
        .iter()
        .map(|g| group::group_to_gid(&Value::from(g.as_str())))
        .collect();
    let mut dupes: Vec<(Value, Vec<String>)> = Vec::new();
    for (i, g) in gids.iter().enumerate() {
        if gids.iter().filter(|x| *x == g).count() > 1 {
            match dupes.iter_mut().find(|(k, _)| k == g) {
                Some((_, l)) => l.push(lgroups[i].clone()),
                None => dupes.push((g.clone(), vec![lgroups[i].clone()])),
            }
        }
    }
    let in_dupes = |g: &str| dupes.iter().any(|(_, l)| l.iter().any(|x| x == g));
    let dupes_of = |g: &str| -> Vec<String> {
        let gid = group::group_to_gid(&Value::from(g));
        dupes
            .iter()
            .find(|(k, _)| *k == gid)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    let no_optional = optional.as_ref().is_none_or(|o| o.is_empty());
    if !a.remove_groups || (a.groups.is_none() && no_optional) {
        wanted.extend(lgroups.iter().cloned());
    }
    let mut wanted: Vec<String> = wanted.into_iter().collect();
    if let Some(uid) = a.uid.as_ref().filter(|u| u.truthy()) {
        if luid != *uid {
            put("uid", uid.clone());
        }
    }
    if let Some(g) = gid {
        if lgid != *g && lgid != group::group_to_gid(g) {
            put("gid", g.clone());
        }
    }
    let default_grp = str_of(&group::gid_to_group(gid.as_ref().unwrap_or(&lgid)));
    let old_default_grp = str_of(&group::gid_to_group(&lgid));
    if lgroups.contains(&default_grp) || wanted.contains(&default_grp) {
        if in_dupes(&default_grp) {
            for g in dupes_of(&default_grp) {
                remove_item(&mut lgroups, &g);
                remove_item(&mut wanted, &g);
            }
        } else {
            remove_item(&mut lgroups, &default_grp);
            remove_item(&mut wanted, &default_grp);
        }
    }
    if old_default_grp != default_grp && lgroups.contains(&old_default_grp) {
        if in_dupes(&old_default_grp) {
            for g in dupes_of(&old_default_grp) {
                remove_item(&mut lgroups, &g);
            }
        } else {
            remove_item(&mut lgroups, &old_default_grp);
        }
    }
    let name_s = name.to_string();
    if lgroups.contains(&name_s) && !wanted.contains(&name_s) {
        if in_dupes(name) {
            for g in dupes_of(name) {
                remove_item(&mut lgroups, &g);
            }
        } else {
            remove_item(&mut lgroups, name);
        }
    }
    if group_changes(&lgroups, &wanted, a.remove_groups) && (!wanted.is_empty() || a.remove_groups)
    {
        put(
            "groups",
            Value::List(wanted.iter().map(|s| Value::from(s.as_str())).collect()),
        );
    }
    let lhome = str_of(&get("home"));
    if let Some(home) = a.home.as_ref().filter(|h| !h.is_empty()) {
        if lhome != *home {
            put("home", Value::from(home.as_str()));
        }
    }
    if a.createhome {
        let newhome = a.home.clone().filter(|h| !h.is_empty()).unwrap_or(lhome);
        if !std::path::Path::new(&newhome).is_dir() {
            put("homeDoesNotExist", Value::Str(newhome));
        }
    }
    if let Some(shell) = a.shell.as_ref().filter(|s| !s.is_empty()) {
        if str_of(&get("shell")) != *shell {
            put("shell", Value::from(shell.as_str()));
        }
    }
    let spw = lshad
        .get(&Value::from("passwd"))
        .map(str_of)
        .unwrap_or_default();
    if let Some(pw) = a.password.as_ref().filter(|p| !p.is_empty()) {
        if !a.empty_password && (spw == "!" || a.enforce_password) && spw != *pw {
            put("passwd", Value::from(pw.as_str()));
        }
    }
    if a.empty_password && !spw.is_empty() {
        put("empty_password", Value::Bool(true));
    }
    for ((key, skey, _), want) in SHADOW_ATTRS.iter().zip(&a.shadow) {
        let Some(w) = want else { continue };
        if *key == "expire" && !w.truthy() {
            continue;
        }
        if lshad.get(&Value::from(*skey)) != Some(w) {
            put(key, w.clone());
        }
    }
    match a.password_lock {
        Some(true) if !spw.starts_with('!') => put("password_lock", Value::Bool(true)),
        Some(false) if spw.starts_with('!') => put("password_lock", Value::Bool(false)),
        _ => {}
    }
    for (key, want) in GECOS.iter().zip(&a.gecos) {
        if let Some(w) = want {
            if str_of(&get(key)) != *w {
                put(key, Value::from(w.as_str()));
            }
        }
    }
    let mut errors = Vec::new();
    if !allow && !a.allow_uid_change && change.contains_key(&Value::from("uid")) {
        errors.push(format!(
            "Changing uid ({} -> {}) not permitted, set allow_uid_change to True to force this change. Note that this will not change file ownership.",
            str_of(&luid),
            a.uid.as_ref().map(str_of).unwrap_or_default()
        ));
    }
    if !allow && !a.allow_gid_change && change.contains_key(&Value::from("gid")) {
        errors.push(format!(
            "Changing gid ({} -> {}) not permitted, set allow_gid_change to True to force this change. Note that this will not change file ownership.",
            str_of(&lgid),
            gid.as_ref().map(str_of).unwrap_or_else(|| "None".into())
        ));
    }
    if !errors.is_empty() {
        let items: Vec<String> = errors.iter().map(|e| format!("- {e}")).collect();
        return Err(format!(
            "Encountered error checking for needed changes. Additional info follows:\n\n{}",
            items.join("\n")
        ));
    }
    Ok(Some(change))
}

fn present(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let mut a = Args::read(call)?;
    if call.bool_or("hash_password", false)? {
        if let Some(clear) = a.password.clone().filter(|p| !p.is_empty()) {
            a.password = Some(hash_password(&name, &clear)?);
        }
    }
    let mut ret =
        Ret::new(name.as_str()).with(Some(true), format!("User {name} is present and up to date"));
    for g in a.gecos[..3].iter().flatten() {
        if g.contains(',') {
            return Ok(ret.with(Some(false), format!("Unsupported char ',' in {g}")));
        }
    }
    if let Some(groups) = a.groups.as_ref().filter(|g| !g.is_empty()) {
        let missing: Vec<&str> = groups
            .iter()
            .filter(|g| group::getgrnam(g).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Ok(ret.with(
                Some(false),
                format!(
                    "The following group(s) are not present: {}",
                    missing.join(",")
                ),
            ));
        }
    }
    let present_opt: Option<Vec<String>> = a
        .optional_groups
        .as_ref()
        .filter(|o| !o.is_empty())
        .map(|o| {
            o.iter()
                .filter(|g| group::getgrnam(g).is_some())
                .cloned()
                .collect()
        });
    let changes_gid = if a.usergroup == Some(true)
        && group::group_to_gid(&Value::from(name.as_str())) != Value::from("")
    {
        Some(Value::from(name.as_str()))
    } else {
        a.gid.clone()
    };
    let needed = match changes(&name, &a, &changes_gid, &present_opt, false) {
        Ok(c) => c,
        Err(e) => return Ok(ret.with(Some(false), e)),
    };
    match needed {
        Some(ch) if !ch.is_empty() => {
            if call.test {
                let mut comment =
                    String::from("The following user attributes are set to be changed:\n");
                for (k, v) in &ch {
                    let shown = if str_of(k) == "passwd" {
                        REDACTED.to_string()
                    } else {
                        str_of(v)
                    };
                    comment.push_str(&format!("{}: {shown}\n", str_of(k)));
                }
                return Ok(ret.with(None, comment));
            }
            apply_changes(call, &name, &a, ch, &mut ret)?;
            if let Err(e) = changes(&name, &a, &a.gid, &present_opt, true).map(|c| {
                if let Some(left) = c.filter(|l| !l.is_empty()) {
                    ret.comment = Value::Str(format!(
                        "These values could not be changed: {}",
                        repr(&Value::Map(left))
                    ));
                    ret.result = Some(false);
                }
            }) {
                return Ok(ret.with(Some(false), e));
            }
            Ok(ret)
        }
        Some(_) => Ok(ret),
        None => create(call, &name, &a, present_opt, ret),
    }
}

/// Apply the changes of an existing user, then report what differs in
/// `user.info` and `shadow.info`.
fn apply_changes(
    call: &StateCall,
    name: &str,
    a: &Args,
    mut ch: Map,
    ret: &mut Ret,
) -> Result<(), String> {
    let ctx = call.ctx;
    let lshad = user::shadow_info(name);
    let pre = user::info(name);
    fn take_from(ch: &mut Map, k: &str) -> Option<Value> {
        ch.shift_remove(&Value::from(k))
    }
    macro_rules! take {
        ($k:expr) => {
            take_from(&mut ch, $k)
        };
    }
    if take!("passwd").is_some() {
        if !a.empty_password {
            user::set_password(ctx, name, a.password.as_deref().unwrap_or(""))?;
        } else {
            tracing::warn!("No password will be set when empty_password=True");
        }
    }
    if take!("empty_password") == Some(Value::Bool(true)) {
        user::del_password(ctx, name)?;
    }
    if let Some(lock) = take!("password_lock") {
        user::lock_password(ctx, name, lock.truthy())?;
    }
    if let Some(d) = take!("date") {
        user::shadow_set(ctx, name, "lstchg", "-d", &d)?;
    }
    let mut home_changed = false;
    let home = take!("home");
    let missing_home = take!("homeDoesNotExist");
    if let Some(h) = &home {
        if missing_home.is_none() {
            user::chhome(ctx, name, h, false)?;
            home_changed = true;
        }
    }
    if let Some(h) = missing_home {
        if !home_changed {
            user::chhome(ctx, name, &h, false)?;
        }
        let path = str_of(&h);
        if !std::path::Path::new(&path).is_dir() {
            make_home(&path, &pre)?;
        }
    }
    for (key, skey, flag) in &SHADOW_ATTRS[1..] {
        if let Some(v) = take!(key) {
            user::shadow_set(ctx, name, skey, flag, &v)?;
        }
    }
    let keys: Vec<String> = ch.keys().map(str_of).filter(|k| k != "groups").collect();
    for key in keys {
        let v = ch
            .get(&Value::from(key.as_str()))
            .cloned()
            .unwrap_or(Value::Null);
        let handled =
            matches!(key.as_str(), "uid" | "gid" | "shell") || GECOS.contains(&key.as_str());
        if handled {
            take!(&key);
        }
        match key.as_str() {
            "uid" => {
                user::chuid(ctx, name, &v)?;
            }
            "gid" => {
                user::chgid(ctx, name, &v)?;
            }
            "shell" => {
                user::chshell(ctx, name, &v)?;
            }
            k if GECOS.contains(&k) => {
                user::update_gecos(ctx, name, k, &str_of(&v))?;
            }
            _ => {}
        }
    }
    if let Some(groups) = take!("groups") {
        let list: Vec<String> = groups
            .as_list()
            .map(|l| l.iter().map(str_of).collect())
            .unwrap_or_default();
        user::chgroups(ctx, name, &list, !a.remove_groups)?;
    }
    if !ch.is_empty() {
        let keys: Vec<String> = ch.keys().map(str_of).collect();
        ret.extra.insert(
            Value::from("warnings"),
            Value::List(vec![Value::Str(format!(
                "Unhandled changes: {}",
                keys.join(", ")
            ))]),
        );
    }
    let post = user::info(name);
    for (k, v) in &post {
        if pre.get(k) != Some(v) {
            ret.changes.insert(k.clone(), v.clone());
        }
    }
    let spw = lshad
        .get(&Value::from("passwd"))
        .map(str_of)
        .unwrap_or_default();
    if a.password.as_deref() != Some(spw.as_str()) {
        let spost = user::shadow_info(name);
        for (k, v) in &spost {
            if lshad.get(k) != Some(v) {
                let v = if str_of(k) == "passwd" {
                    Value::from(REDACTED)
                } else {
                    v.clone()
                };
                ret.changes.insert(k.clone(), v);
            }
        }
    }
    if !ret.changes.is_empty() {
        ret.comment = Value::Str(format!("Updated user {name}"));
    }
    Ok(())
}

/// `file.mkdir(path, uid, gid, 0o755)` for a missing home.
fn make_home(path: &str, pre: &Map) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path).map_err(|e| format!("Unable to create {path}: {e}"))?;
    let id = |k: &str| {
        pre.get(&Value::from(k))
            .and_then(Value::as_int)
            .and_then(|i| u32::try_from(i).ok())
    };
    std::os::unix::fs::chown(path, id("uid"), id("gid"))
        .map_err(|e| format!("Unable to chown {path}: {e}"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("Unable to chmod {path}: {e}"))
}

/// Create a missing user, then set its password and shadow fields.
fn create(
    call: &StateCall,
    name: &str,
    a: &Args,
    present_opt: Option<Vec<String>>,
    ret: Ret,
) -> Result<Ret, String> {
    if call.test {
        return Ok(ret.with(None, format!("User {name} set to be added")));
    }
    let mut groups = a.groups.clone();
    match (&mut groups, present_opt) {
        (Some(g), Some(o)) if !g.is_empty() && !o.is_empty() => g.extend(o),
        (_, Some(o)) if !o.is_empty() => groups = Some(o),
        _ => {}
    }
    let args = user::AddArgs {
        uid: a.uid.clone(),
        gid: a.gid.clone(),
        groups,
        home: a.home.clone(),
        shell: a.shell.clone(),
        unique: a.unique,
        system: a.system,
        gecos: a.gecos.clone(),
        createhome: a.createhome,
        nologinit: a.nologinit,
        usergroup: a.usergroup,
    };
    if !user::add(call.ctx, name, &args)? {
        return Ok(ret.with(Some(false), format!("Failed to create new user {name}")));
    }
    let mut ret = ret.with(Some(true), format!("New user {name} created"));
    ret.changes = user::info(name);
    if !a.createhome {
        ret.change("home", "");
    }
    let ctx = call.ctx;
    let password = a.password.as_ref().filter(|p| !p.is_empty());
    if let Some(pw) = password.filter(|_| !a.empty_password) {
        user::set_password(ctx, name, pw)?;
        if user::shadow_passwd(name) != *pw {
            ret = ret.with(
                Some(false),
                format!("User {name} created but failed to set password to {REDACTED}"),
            );
        }
        ret.change("password", REDACTED);
    }
    if a.empty_password && password.is_none() {
        user::del_password(ctx, name)?;
        if !user::shadow_passwd(name).is_empty() {
            ret = ret.with(
                Some(false),
                format!("User {name} created but failed to empty password"),
            );
        }
        ret.change("password", "");
    }
    const WHAT: [&str; 6] = [
        "last change date",
        "minimum days",
        "maximum days",
        "inactive days",
        "warn days",
        "expire days",
    ];
    for (i, ((key, skey, flag), want)) in SHADOW_ATTRS.iter().zip(&a.shadow).enumerate() {
        let Some(w) = want else { continue };
        if i > 0 && !w.truthy() {
            continue;
        }
        user::shadow_set(ctx, name, skey, flag, w)?;
        if user::shadow_info(name).get(&Value::from(*skey)) != Some(w) {
            ret = ret.with(
                Some(false),
                format!(
                    "User {name} created but failed to set {} to {}",
                    WHAT[i],
                    str_of(w)
                ),
            );
        }
        ret.change(key, w.clone());
    }
    Ok(ret)
}

fn absent(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let purge = call.bool_or("purge", false)?;
    let force = call.bool_or("force", false)?;
    let ret = Ret::new(name.as_str());
    if user::info(&name).is_empty() {
        return Ok(ret.with(Some(true), format!("User {name} is not present")));
    }
    if call.test {
        return Ok(ret.with(None, format!("User {name} set for removal")));
    }
    let before = user::group_list(&name);
    if !user::delete(call.ctx, &name, purge, force)? {
        return Ok(ret.with(Some(false), format!("Failed to remove user {name}")));
    }
    let mut ret = ret.with(Some(true), format!("Removed user {name}"));
    for g in before {
        if group::getgrnam(&g).is_none() {
            ret.change(&format!("{g} group"), "removed");
        }
    }
    ret.change(&name, "removed");
    Ok(ret)
}
