//! `group` execution functions (salt/modules/groupadd.py, Linux): `info`,
//! `getent`, `add`, `delete`, `chgid`, `adduser`, `deluser`, `members`,
//! through groupadd/groupdel/groupmod/gpasswd and /etc/group; plus the
//! `file.group_to_gid`/`file.gid_to_group` lookups the user state uses.

use super::user::{run_argv, which};
use super::{bind, is_true, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("add", add_fn),
    ("delete", delete_fn),
    ("info", info_fn),
    ("getent", getent_fn),
    ("chgid", chgid_fn),
    ("adduser", adduser_fn),
    ("deluser", deluser_fn),
    ("members", members_fn),
];

/// One /etc/group entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub passwd: String,
    pub gid: i128,
    pub members: Vec<String>,
}

impl Group {
    /// Salt's `_format_info`: `{name, passwd, gid, members}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::default();
        m.insert(Value::from("name"), Value::from(self.name.as_str()));
        m.insert(Value::from("passwd"), Value::from(self.passwd.as_str()));
        m.insert(Value::from("gid"), Value::Int(self.gid));
        m.insert(
            Value::from("members"),
            Value::List(
                self.members
                    .iter()
                    .map(|s| Value::from(s.as_str()))
                    .collect(),
            ),
        );
        Value::Map(m)
    }
}

/// Every entry of `<root>/etc/group`, in file order (`grp.getgrall`).
pub fn getgrall_in(root: &str) -> Vec<Group> {
    let path = std::path::Path::new(root).join("etc/group");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.trim().split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(Group {
                name: f[0].into(),
                passwd: f[1].into(),
                gid: f[2].parse().ok()?,
                members: if f[3].is_empty() {
                    Vec::new()
                } else {
                    f[3].split(',').map(str::to_string).collect()
                },
            })
        })
        .collect()
}

/// Every group of this system.
pub fn getgrall() -> Vec<Group> {
    getgrall_in("/")
}

/// `grp.getgrnam`.
pub fn getgrnam(name: &str) -> Option<Group> {
    getgrall().into_iter().find(|g| g.name == name)
}

/// `grp.getgrgid`.
pub fn getgrgid(gid: i128) -> Option<Group> {
    getgrall().into_iter().find(|g| g.gid == gid)
}

/// `file.group_to_gid`: ints as is, names to their gid, else `""`.
pub fn group_to_gid(group: &Value) -> Value {
    match group {
        Value::Null => Value::from(""),
        Value::Int(_) | Value::Bool(_) => group.clone(),
        other => getgrnam(&str_of(other))
            .map(|g| Value::Int(g.gid))
            .unwrap_or_else(|| Value::from("")),
    }
}

/// `file.gid_to_group`: a gid (or numeric string) to its name, a name to
/// itself when it exists, `""` for an unknown name, the gid for an unknown
/// gid.
pub fn gid_to_group(gid: &Value) -> Value {
    let num = match gid {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(*b as i128),
        Value::Str(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    let num = match num {
        Some(n) => n,
        None => match group_to_gid(gid) {
            Value::Int(n) => n,
            _ => return Value::from(""),
        },
    };
    getgrgid(num)
        .map(|g| Value::Str(g.name))
        .unwrap_or(Value::Int(num))
}

/// `group.info`: `{}` for an unknown group.
pub fn info(name: &str) -> Value {
    getgrnam(name)
        .map(|g| g.to_value())
        .unwrap_or_else(Value::map)
}

/// `group.add`.
pub fn add(
    ctx: &Context,
    name: &str,
    gid: Option<&Value>,
    system: bool,
    non_unique: bool,
) -> Result<bool, String> {
    let mut argv = vec![which("groupadd")?];
    if let Some(g) = gid.filter(|g| g.truthy()) {
        argv.push(format!("-g {}", str_of(g)));
        if non_unique {
            argv.push("-o".into());
        }
    }
    if system {
        argv.push("-r".into());
    }
    argv.push(name.into());
    Ok(run_argv(ctx, &argv, false, false)?.retcode == 0)
}

/// `group.delete`.
pub fn delete(ctx: &Context, name: &str) -> Result<bool, String> {
    let argv = vec![which("groupdel")?, name.into()];
    Ok(run_argv(ctx, &argv, false, false)?.retcode == 0)
}

/// `group.chgid`: `groupmod -g`, true when the gid is now `gid`.
pub fn chgid(ctx: &Context, name: &str, gid: &Value, non_unique: bool) -> Result<bool, String> {
    let Some(pre) = getgrnam(name) else {
        return Ok(false);
    };
    if Value::Int(pre.gid) == *gid {
        return Ok(true);
    }
    let param = if non_unique { "-og" } else { "-g" };
    let argv = vec![which("groupmod")?, param.into(), str_of(gid), name.into()];
    run_argv(ctx, &argv, true, false)?;
    Ok(getgrnam(name).map(|g| Value::Int(g.gid)) == Some(gid.clone()))
}

/// `group.adduser`: `gpasswd --add user group`.
pub fn adduser(ctx: &Context, name: &str, username: &str) -> Result<bool, String> {
    let argv = vec![
        which("gpasswd")?,
        "--add".into(),
        username.into(),
        name.into(),
    ];
    Ok(run_argv(ctx, &argv, true, false)?.retcode == 0)
}

/// `group.deluser`: `gpasswd --del user group` when the user is a member.
pub fn deluser(ctx: &Context, name: &str, username: &str) -> Result<bool, String> {
    match getgrnam(name) {
        Some(g) if g.members.iter().any(|m| m == username) => {
            let argv = vec![
                which("gpasswd")?,
                "--del".into(),
                username.into(),
                name.into(),
            ];
            Ok(run_argv(ctx, &argv, true, false)?.retcode == 0)
        }
        _ => Ok(true),
    }
}

/// `group.members`: `gpasswd --members a,b group`.
pub fn members(ctx: &Context, name: &str, members_list: &str) -> Result<bool, String> {
    let argv = vec![
        which("gpasswd")?,
        "--members".into(),
        members_list.into(),
        name.into(),
    ];
    Ok(run_argv(ctx, &argv, true, false)?.retcode == 0)
}

fn add_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "group.add",
        &["name", "gid", "system", "root", "non_unique", "local"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let name = str_of(&b.get(0, Value::Null));
    let system = b.opt(2).is_some_and(Value::truthy);
    let non_unique = b.opt(4).is_some_and(Value::truthy);
    add(ctx, &name, b.opt(1), system, non_unique).map(Value::Bool)
}

fn delete_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "group.delete",
        &["name", "root", "local"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    delete(ctx, &str_of(&b.get(0, Value::Null))).map(Value::Bool)
}

fn info_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "group.info",
        &["name", "root"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let root = b.str(1).unwrap_or_else(|| "/".into());
    let name = str_of(&b.get(0, Value::Null));
    Ok(getgrall_in(&root)
        .into_iter()
        .find(|g| g.name == name)
        .map(|g| g.to_value())
        .unwrap_or_else(Value::map))
}

fn getent_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "group.getent",
        &["refresh", "root"],
        0,
        false,
        false,
        args,
        kwargs,
    )?;
    let root = b.str(1).unwrap_or_else(|| "/".into());
    Ok(Value::List(
        getgrall_in(&root).iter().map(Group::to_value).collect(),
    ))
}

fn chgid_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "group.chgid",
        &["name", "gid", "root", "non_unique"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let name = str_of(&b.get(0, Value::Null));
    let non_unique = b.opt(3).is_some_and(is_true);
    chgid(ctx, &name, &b.get(1, Value::Null), non_unique).map(Value::Bool)
}

fn adduser_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "group.adduser",
        &["name", "username", "root"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let (name, user) = (
        str_of(&b.get(0, Value::Null)),
        str_of(&b.get(1, Value::Null)),
    );
    adduser(ctx, &name, &user).map(Value::Bool)
}

fn deluser_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "group.deluser",
        &["name", "username", "root"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let (name, user) = (
        str_of(&b.get(0, Value::Null)),
        str_of(&b.get(1, Value::Null)),
    );
    deluser(ctx, &name, &user).map(Value::Bool)
}

fn members_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "group.members",
        &["name", "members_list", "root"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let (name, list) = (
        str_of(&b.get(0, Value::Null)),
        str_of(&b.get(1, Value::Null)),
    );
    members(ctx, &name, &list).map(Value::Bool)
}
