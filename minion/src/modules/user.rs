//! `user` (salt/modules/useradd.py): `user.info` from /etc/passwd and
//! /etc/group; `{}` for an unknown user.

use super::{bind, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[("info", info), ("list_groups", list_groups)];

struct Passwd {
    name: String,
    passwd: String,
    uid: i128,
    gid: i128,
    gecos: String,
    dir: String,
    shell: String,
}

fn getpwnam(name: &str) -> Option<Passwd> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 || f[0] != name {
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
}

/// `salt.utils.user.get_group_list`: the groups listing the user, plus its
/// primary group, sorted.
fn group_list(name: &str) -> Vec<String> {
    let Some(pw) = getpwnam(name) else {
        return Vec::new();
    };
    let mut groups = std::collections::BTreeSet::new();
    if let Ok(text) = std::fs::read_to_string("/etc/group") {
        for line in text.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 {
                continue;
            }
            let member = f[3].split(',').any(|m| m == name);
            if member || f[2].parse::<i128>().ok() == Some(pw.gid) {
                groups.insert(f[0].to_string());
            }
        }
    }
    groups.into_iter().collect()
}

fn info(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "user.info",
        &["name", "root"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let name = str_of(&b.get(0, Value::Null));
    let Some(pw) = getpwnam(&name) else {
        return Ok(Value::map());
    };
    let mut gecos: Vec<String> = pw.gecos.splitn(5, ',').map(str::to_string).collect();
    while gecos.len() < 5 {
        gecos.push(String::new());
    }
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::from(k), v);
    };
    put("gid", Value::Int(pw.gid));
    put(
        "groups",
        Value::List(group_list(&pw.name).into_iter().map(Value::Str).collect()),
    );
    put("home", Value::Str(pw.dir));
    put("name", Value::Str(pw.name.clone()));
    put("passwd", Value::Str(pw.passwd));
    put("shell", Value::Str(pw.shell));
    put("uid", Value::Int(pw.uid));
    let [full, room, work, home, other]: [String; 5] = gecos.try_into().unwrap_or_default();
    put("fullname", Value::Str(full));
    put("roomnumber", Value::Str(room));
    put("workphone", Value::Str(work));
    put("homephone", Value::Str(home));
    put("other", Value::Str(other));
    Ok(Value::Map(m))
}

fn list_groups(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("user.list_groups", &["name"], 1, false, false, args, kwargs)?;
    let name = str_of(&b.get(0, Value::Null));
    Ok(Value::List(
        group_list(&name).into_iter().map(Value::Str).collect(),
    ))
}
