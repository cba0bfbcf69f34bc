//! `cron` states (salt/states/cron.py): `present`, `absent`,
//! `env_present`, `env_absent`, on a user's crontab through the cron
//! execution functions.

use super::{Ret, StateCall, StateFunction};
use crate::modules::cron::{self, cron_matched, get, needs_change, Job};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "present",
        fun: present,
        required: &["name"],
        params: Some(&[
            "name",
            "user",
            "minute",
            "hour",
            "daymonth",
            "month",
            "dayweek",
            "comment",
            "commented",
            "identifier",
            "special",
        ]),
    },
    StateFunction {
        name: "absent",
        fun: absent,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "env_present",
        fun: env_present,
        required: &["name"],
        params: Some(&["name", "value", "user"]),
    },
    StateFunction {
        name: "env_absent",
        fun: env_absent,
        required: &["name"],
        params: Some(&["name", "user"]),
    },
];

/// A scalar argument as its Value (lists and maps are a type error).
fn scalar(call: &StateCall, key: &str, default: Value) -> Result<Value, String> {
    match call.low.get(&Value::from(key)) {
        None => Ok(default),
        Some(v @ (Value::List(_) | Value::Map(_) | Value::Bytes(_))) => {
            Err(call.type_error(key, "a string or a number", v))
        }
        Some(v) => Ok(v.clone()),
    }
}

/// Python's `str(x).lower()`, None kept.
fn lower(v: &Value) -> Value {
    if v.is_null() {
        Value::Null
    } else {
        Value::Str(str_of(v).to_lowercase())
    }
}

/// Salt's `_check_cron`: "present", "update" or "absent".
#[allow(clippy::too_many_arguments)]
fn check_cron(
    call: &StateCall,
    user: &str,
    cmd: &Value,
    when: [Value; 5],
    comment: &Value,
    commented: &Value,
    identifier: &Value,
    special: &Value,
) -> Result<&'static str, String> {
    let when = when.map(|w| lower(&w));
    let identifier = if identifier.is_null() {
        Value::Null
    } else {
        Value::Str(str_of(identifier))
    };
    let commented = if commented.is_null() {
        Value::Null
    } else {
        Value::Bool(*commented == Value::Bool(true) && matches!(commented, Value::Bool(_)))
    };
    let cmd = if cmd.is_null() {
        Value::Null
    } else {
        Value::Str(str_of(cmd))
    };
    let lst = cron::list_tab(call.ctx, user)?;
    let list = |k: &str| -> Vec<Map> {
        lst.get(&Value::from(k))
            .and_then(Value::as_list)
            .map(|l| l.iter().filter_map(Value::as_map).cloned().collect())
            .unwrap_or_default()
    };
    if special.is_null() {
        for c in list("crons") {
            if cron_matched(&c, &cmd, &identifier) {
                let keys = ["minute", "hour", "daymonth", "month", "dayweek"];
                let mut pairs: Vec<(Value, Value)> = keys
                    .iter()
                    .zip(when.iter())
                    .map(|(k, w)| (get(&c, k), w.clone()))
                    .collect();
                pairs.push((get(&c, "identifier"), identifier.clone()));
                pairs.push((get(&c, "cmd"), cmd.clone()));
                pairs.push((get(&c, "comment"), comment.clone()));
                pairs.push((get(&c, "commented"), commented.clone()));
                return Ok(if pairs.iter().any(|(a, b)| needs_change(a, b)) {
                    "update"
                } else {
                    "present"
                });
            }
        }
    } else {
        for c in list("special") {
            if cron_matched(&c, &cmd, &identifier) {
                let pairs = [
                    (get(&c, "spec"), special.clone()),
                    (get(&c, "identifier"), identifier.clone()),
                    (get(&c, "cmd"), cmd.clone()),
                    (get(&c, "comment"), comment.clone()),
                    (get(&c, "commented"), commented.clone()),
                ];
                return Ok(if pairs.iter().any(|(a, b)| needs_change(a, b)) {
                    "update"
                } else {
                    "present"
                });
            }
        }
    }
    Ok("absent")
}

/// `name.strip()` and the identifier (the name when not given).
fn name_and_id(call: &StateCall) -> Result<(String, Value), String> {
    let name = call.opt_str("name")?.unwrap_or_default().trim().to_string();
    let identifier = match call.low.get(&Value::from("identifier")) {
        None | Some(Value::Bool(false)) => Value::Str(name.clone()),
        Some(v @ (Value::List(_) | Value::Map(_))) => {
            return Err(call.type_error("identifier", "a string", v))
        }
        Some(v) => v.clone(),
    };
    Ok((name, identifier))
}

fn present(call: &StateCall) -> Result<Ret, String> {
    let (name, identifier) = name_and_id(call)?;
    let user = call.opt_str("user")?.unwrap_or_else(|| "root".into());
    let star = Value::from("*");
    let when = [
        scalar(call, "minute", star.clone())?,
        scalar(call, "hour", star.clone())?,
        scalar(call, "daymonth", star.clone())?,
        scalar(call, "month", star.clone())?,
        scalar(call, "dayweek", star)?,
    ];
    let comment = scalar(call, "comment", Value::Null)?;
    let commented = scalar(call, "commented", Value::Bool(false))?;
    let special = scalar(call, "special", Value::Null)?;
    let cmd = Value::Str(name.clone());
    let mut ret = Ret::new(name.as_str());
    if call.test {
        let status = check_cron(
            call,
            &user,
            &cmd,
            when.clone(),
            &comment,
            &commented,
            &identifier,
            &special,
        )?;
        return Ok(match status {
            "absent" => ret.with(None, format!("Cron {name} is set to be added")),
            "present" => ret.with(Some(true), format!("Cron {name} already present")),
            _ => ret.with(None, format!("Cron {name} is set to be updated")),
        });
    }
    let data = if special.is_null() {
        let job = Job {
            when: when.map(|w| str_of(&w)),
            cmd,
            commented,
            comment,
            identifier,
        };
        cron::set_job(call.ctx, &user, job)?
    } else {
        cron::set_special(
            call.ctx,
            &user,
            &special,
            &cmd,
            &commented,
            &comment,
            &identifier,
        )?
    };
    Ok(match data.as_str() {
        "present" => ret.with(Some(true), format!("Cron {name} already present")),
        "new" => {
            ret.change(&user, name.as_str());
            ret.with(Some(true), format!("Cron {name} added to {user}'s crontab"))
        }
        "updated" => {
            ret.change(&user, name.as_str());
            ret.with(Some(true), format!("Cron {name} updated"))
        }
        err => ret.with(
            Some(false),
            format!("Cron {name} for user {user} failed to commit with error \n{err}"),
        ),
    })
}

fn absent(call: &StateCall) -> Result<Ret, String> {
    let (name, identifier) = name_and_id(call)?;
    let user = call.opt_str("user")?.unwrap_or_else(|| "root".into());
    let special = scalar(call, "special", Value::Null)?;
    let cmd = Value::Str(name.clone());
    let mut ret = Ret::new(name.as_str());
    if call.test {
        let none = || Value::Null;
        let status = check_cron(
            call,
            &user,
            &cmd,
            [none(), none(), none(), none(), none()],
            &Value::Null,
            &Value::Null,
            &identifier,
            &Value::Null,
        )?;
        return Ok(match status {
            "absent" => ret.with(Some(true), format!("Cron {name} is absent")),
            _ => ret.with(None, format!("Cron {name} is set to be removed")),
        });
    }
    let data = if special.is_null() {
        cron::rm_job(
            call.ctx,
            &user,
            &cmd,
            [None, None, None, None, None],
            &identifier,
        )?
    } else {
        cron::rm_special(call.ctx, &user, &cmd, Some(&special), &identifier)?
    };
    Ok(match data.as_str() {
        "absent" => ret.with(Some(true), format!("Cron {name} already absent")),
        "removed" => {
            ret.change(&user, name.as_str());
            ret.with(
                Some(true),
                format!("Cron {name} removed from {user}'s crontab"),
            )
        }
        err => ret.with(
            Some(false),
            format!("Cron {name} for user {user} failed to commit with error {err}"),
        ),
    })
}

/// Salt's `_check_cron_env`.
fn check_env(
    call: &StateCall,
    user: &str,
    name: &str,
    value: &Value,
) -> Result<&'static str, String> {
    let value = if value.is_null() {
        Value::from("")
    } else {
        value.clone()
    };
    let lst = cron::list_tab(call.ctx, user)?;
    for env in lst
        .get(&Value::from("env"))
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .filter_map(Value::as_map)
    {
        if get(env, "name") == Value::from(name) {
            return Ok(if value != get(env, "value") {
                "update"
            } else {
                "present"
            });
        }
    }
    Ok("absent")
}

fn env_present(call: &StateCall) -> Result<Ret, String> {
    let name = call.opt_str("name")?.unwrap_or_default();
    let value = scalar(call, "value", Value::Null)?;
    let user = call.opt_str("user")?.unwrap_or_else(|| "root".into());
    let mut ret = Ret::new(name.as_str());
    if call.test {
        return Ok(match check_env(call, &user, &name, &value)? {
            "absent" => ret.with(None, format!("Cron env {name} is set to be added")),
            "present" => ret.with(Some(true), format!("Cron env {name} already present")),
            _ => ret.with(None, format!("Cron env {name} is set to be updated")),
        });
    }
    let data = cron::set_env(call.ctx, &user, &name, &value)?;
    Ok(match data.as_str() {
        "present" => ret.with(Some(true), format!("Cron env {name} already present")),
        "new" => {
            ret.change(&user, name.as_str());
            ret.with(
                Some(true),
                format!("Cron env {name} added to {user}'s crontab"),
            )
        }
        "updated" => {
            ret.change(&user, name.as_str());
            ret.with(Some(true), format!("Cron env {name} updated"))
        }
        err => ret.with(
            Some(false),
            format!("Cron env {name} for user {user} failed to commit with error \n{err}"),
        ),
    })
}

fn env_absent(call: &StateCall) -> Result<Ret, String> {
    let name = call.opt_str("name")?.unwrap_or_default().trim().to_string();
    let user = call.opt_str("user")?.unwrap_or_else(|| "root".into());
    let mut ret = Ret::new(name.as_str());
    if call.test {
        return Ok(match check_env(call, &user, &name, &Value::Null)? {
            "absent" => ret.with(Some(true), format!("Cron env {name} is absent")),
            _ => ret.with(None, format!("Cron env {name} is set to be removed")),
        });
    }
    let data = cron::rm_env(call.ctx, &user, &name)?;
    Ok(match data.as_str() {
        "absent" => ret.with(Some(true), format!("Cron env {name} already absent")),
        "removed" => {
            ret.change(&user, name.as_str());
            ret.with(
                Some(true),
                format!("Cron env {name} removed from {user}'s crontab"),
            )
        }
        err => ret.with(
            Some(false),
            format!("Cron env {name} for user {user} failed to commit with error {err}"),
        ),
    })
}
