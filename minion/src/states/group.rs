//! `group` states (salt/states/group.py): `present` (gid, system,
//! members / addusers / delusers) and `absent`.

use super::{Ret, StateCall, StateFunction};
use crate::modules::group;
use brine_core::output::pyrepr::{repr, str_of};
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "present",
        fun: present,
        required: &["name"],
        params: Some(&[
            "name",
            "gid",
            "system",
            "addusers",
            "delusers",
            "members",
            "non_unique",
            "local",
        ]),
    },
    StateFunction {
        name: "absent",
        fun: absent,
        required: &["name"],
        params: Some(&["name", "local"]),
    },
];

/// A list-of-names argument.
fn names(call: &StateCall, key: &str) -> Result<Option<Vec<String>>, String> {
    Ok(call.opt_list(key)?.map(|l| l.iter().map(str_of).collect()))
}

/// A Python set of strings as `repr` shows it (sorted here: Python's own
/// order depends on the hash seed).
fn set_repr(items: &[String]) -> String {
    let mut v = items.to_vec();
    v.sort();
    v.dedup();
    let inner: Vec<String> = v.iter().map(|s| repr(&Value::from(s.as_str()))).collect();
    format!("{{{}}}", inner.join(", "))
}

/// One needed change: its key, its value, and how the comment shows it.
struct Change {
    key: &'static str,
    value: Value,
    shown: String,
    users: Vec<String>,
}

/// Salt's `_changes`: `None` when the group is absent, else the changes
/// needed (possibly none). `Err` is Salt's "Invalid gid" result.
fn changes(
    name: &str,
    gid: Option<&Value>,
    addusers: &Option<Vec<String>>,
    delusers: &Option<Vec<String>>,
    members: &Option<Vec<String>>,
) -> Option<Vec<Change>> {
    let lgrp = group::getgrnam(name)?;
    let mut out = Vec::new();
    if let Some(g) = gid.filter(|g| g.truthy()) {
        let n = match g {
            Value::Int(i) => *i,
            Value::Bool(b) => *b as i128,
            Value::Float(f) if f.is_finite() => f.trunc() as i128,
            Value::Str(s) => match s.trim().parse::<i128>() {
                Ok(n) => n,
                Err(_) => return Some(invalid_gid()),
            },
            _ => return Some(invalid_gid()),
        };
        if lgrp.gid != n {
            out.push(Change {
                key: "gid",
                value: Value::Int(n),
                shown: n.to_string(),
                users: Vec::new(),
            });
        }
    }
    let cur: std::collections::BTreeSet<&String> = lgrp.members.iter().collect();
    let differs = |m: &[String]| cur != m.iter().collect();
    let list = |v: &[String]| Value::List(v.iter().map(|s| Value::from(s.as_str())).collect());
    match members {
        Some(m) if m.is_empty() && differs(m) => {
            out.push(Change {
                key: "delusers",
                value: list(&lgrp.members),
                shown: set_repr(&lgrp.members),
                users: lgrp.members.clone(),
            });
        }
        Some(m) if !m.is_empty() && differs(m) => {
            out.push(Change {
                key: "members",
                value: list(m),
                shown: repr(&list(m)),
                users: m.clone(),
            });
        }
        _ => {}
    }
    if let Some(add) = addusers.as_ref().filter(|a| !a.is_empty()) {
        let todo: Vec<String> = add
            .iter()
            .filter(|u| !lgrp.members.contains(u))
            .cloned()
            .collect();
        if !todo.is_empty() {
            out.push(Change {
                key: "addusers",
                value: list(&todo),
                shown: repr(&list(&todo)),
                users: todo,
            });
        }
    }
    if let Some(del) = delusers.as_ref().filter(|a| !a.is_empty()) {
        let todo: Vec<String> = del
            .iter()
            .filter(|u| lgrp.members.contains(u))
            .cloned()
            .collect();
        if !todo.is_empty() {
            out.retain(|c| c.key != "delusers");
            out.push(Change {
                key: "delusers",
                value: list(&todo),
                shown: repr(&list(&todo)),
                users: todo,
            });
        }
    }
    Some(out)
}

/// What Salt's `_changes` returns for a gid that is not a number: a
/// `{result, comment}` dict, which `present` then treats as changes.
fn invalid_gid() -> Vec<Change> {
    vec![
        Change {
            key: "result",
            value: Value::Bool(false),
            shown: "False".into(),
            users: Vec::new(),
        },
        Change {
            key: "comment",
            value: Value::from("Invalid gid"),
            shown: "Invalid gid".into(),
            users: Vec::new(),
        },
    ]
}

fn to_map(ch: &[Change]) -> Map {
    ch.iter()
        .map(|c| (Value::from(c.key), c.value.clone()))
        .collect()
}

fn present(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let gid = match call.get("gid") {
        Some(v @ (Value::List(_) | Value::Map(_))) => {
            return Err(call.type_error("gid", "an integer", v))
        }
        v => v.cloned(),
    };
    let system = call.bool_or("system", false)?;
    let non_unique = call.bool_or("non_unique", false)?;
    let addusers = names(call, "addusers")?;
    let delusers = names(call, "delusers")?;
    let members = names(call, "members")?;
    let mut ret = Ret::new(name.as_str()).with(
        Some(true),
        format!("Group {name} is present and up to date"),
    );
    if members.is_some() && (addusers.is_some() || delusers.is_some()) {
        return Ok(ret.with(
            None,
            "Error: Conflicting options \"members\" with \"addusers\" and/or \"delusers\" can not be used together. ",
        ));
    }
    if let (Some(a), Some(d)) = (&addusers, &delusers) {
        if a.iter().any(|u| d.contains(u)) {
            return Ok(ret.with(
                None,
                "Error. Same user(s) can not be added and deleted simultaneously",
            ));
        }
    }
    let needed = changes(&name, gid.as_ref(), &addusers, &delusers, &members);
    match needed {
        Some(ch) if !ch.is_empty() => {
            let mut comment =
                String::from("The following group attributes are set to be changed:\n");
            for c in &ch {
                comment.push_str(&format!("{}: {}\n", c.key, c.shown));
            }
            if call.test {
                return Ok(ret.with(None, comment));
            }
            for c in &ch {
                match c.key {
                    "gid" => {
                        group::chgid(call.ctx, &name, &c.value, non_unique)?;
                    }
                    "addusers" => {
                        for u in &c.users {
                            group::adduser(call.ctx, &name, u)?;
                        }
                    }
                    "delusers" => {
                        for u in &c.users {
                            group::deluser(call.ctx, &name, u)?;
                        }
                    }
                    "members" => {
                        group::members(call.ctx, &name, &c.users.join(","))?;
                    }
                    _ => {}
                }
            }
            let after = changes(&name, gid.as_ref(), &addusers, &delusers, &members);
            match after {
                Some(left) if !left.is_empty() => {
                    comment.push_str("Some changes could not be applied");
                    ret.change("Failed", to_map(&left));
                    Ok(ret.with(Some(false), comment))
                }
                _ => {
                    ret.change("Final", "All changes applied successfully");
                    Ok(ret.with(Some(true), comment))
                }
            }
        }
        Some(_) => Ok(ret),
        None => {
            if call.test {
                return Ok(ret.with(None, format!("Group {name} set to be added")));
            }
            if let Some(g) = gid.as_ref().filter(|_| !non_unique) {
                if let Some(taken) = group::getgrall()
                    .into_iter()
                    .find(|x| Value::Int(x.gid) == *g)
                {
                    return Ok(ret.with(
                        Some(false),
                        format!(
                            "Group {name} is not present but gid {} is already taken by group {}",
                            str_of(g),
                            taken.name
                        ),
                    ));
                }
            }
            if !group::add(call.ctx, &name, gid.as_ref(), system, non_unique)? {
                return Ok(ret.with(Some(false), format!("Failed to create new group {name}")));
            }
            let mut grp_members = None;
            if let Some(m) = members.as_ref().filter(|m| !m.is_empty()) {
                grp_members = Some(m.join(","));
            }
            if let Some(a) = addusers.as_ref().filter(|a| !a.is_empty()) {
                grp_members = Some(a.join(","));
            }
            if let Some(m) = grp_members {
                group::members(call.ctx, &name, &m)?;
            }
            ret = ret.with(Some(true), format!("New group {name} created"));
            if let Value::Map(m) = group::info(&name) {
                ret.changes = m;
            }
            let after = changes(&name, gid.as_ref(), &addusers, &delusers, &members);
            if let Some(left) = after.filter(|l| !l.is_empty()) {
                ret.changes = Map::default();
                ret.change("Failed", to_map(&left));
                return Ok(ret.with(
                    Some(false),
                    format!("Group {name} has been created but, some changes could not be applied"),
                ));
            }
            Ok(ret)
        }
    }
}

fn absent(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let ret = Ret::new(name.as_str());
    if group::getgrnam(&name).is_none() {
        return Ok(ret.with(Some(true), "Group not present"));
    }
    if call.test {
        return Ok(ret.with(None, format!("Group {name} is set for removal")));
    }
    if group::delete(call.ctx, &name)? {
        let mut ret = ret.with(Some(true), format!("Removed group {name}"));
        ret.change(&name, "");
        Ok(ret)
    } else {
        Ok(ret.with(Some(false), format!("Failed to remove group {name}")))
    }
}
