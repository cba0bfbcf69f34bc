//! `sysctl` states (salt/states/sysctl.py): `present` sets a kernel
//! parameter now and persists it in the sysctl config file.

use super::{Ret, StateCall, StateFunction};
use crate::modules::sysctl;
use brine_core::output::pyrepr::str_of;
use brine_core::value::Value;

pub const FUNCTIONS: &[StateFunction] = &[StateFunction {
    name: "present",
    fun: present,
    required: &["name", "value"],
    params: Some(&["name", "value", "config"]),
}];

/// Python's `re.sub(" +|\t+", " ", s)`.
fn squeeze(s: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if (c == ' ' || c == '\t') && prev == Some(c) {
            continue;
        }
        out.push(if c == '\t' { ' ' } else { c });
        prev = Some(c);
    }
    out
}

fn present(call: &StateCall) -> Result<Ret, String> {
    let name = call.opt_str("name")?.unwrap_or_default();
    let value_v = call
        .low
        .get(&Value::from("value"))
        .cloned()
        .unwrap_or(Value::Null);
    if matches!(value_v, Value::List(_) | Value::Map(_) | Value::Bytes(_)) {
        return Err(call.type_error("value", "a string or a number", &value_v));
    }
    let value = str_of(&value_v);
    let config = call
        .opt_str("config")?
        .unwrap_or_else(sysctl::default_config);
    let mut ret = Ret::new(name.as_str());
    if call.test {
        let configured = sysctl::show(call.ctx, Some(&config))?;
        let has = |m: &Value| {
            m.as_map()
                .is_some_and(|m| m.contains_key(&Value::from(name.as_str())))
        };
        if configured.is_null() {
            return Ok(ret.with(
                None,
                format!(
                    "Sysctl option {name} might be changed, we failed to check config file at {config}. The file is either unreadable, or missing."
                ),
            ));
        }
        let current = sysctl::get(call.ctx, &name)?;
        if !current.is_empty() {
            if has(&configured) {
                let want: Vec<&str> = value.split_whitespace().collect();
                if want == current.split_whitespace().collect::<Vec<_>>() {
                    return Ok(ret.with(
                        Some(true),
                        format!("Sysctl value {name} = {value} is already set"),
                    ));
                }
            } else if squeeze(&current) != squeeze(&value) {
                return Ok(ret.with(
                    None,
                    format!("Sysctl option {name} set to be changed to {value}"),
                ));
            } else {
                return Ok(ret.with(
                    None,
                    format!(
                        "Sysctl value is currently set on the running system but not in a config file. Sysctl option {name} set to be changed to {value} in config file."
                    ),
                ));
            }
        } else if has(&configured) {
            return Ok(ret.with(
                None,
                format!(
                    "Sysctl value {name} is present in configuration file but is not present in the running config. The value {name} is set to be changed to {value}"
                ),
            ));
        }
        return Ok(ret.with(
            None,
            format!("Sysctl option {name} would be changed to {value}"),
        ));
    }
    match sysctl::persist(call.ctx, &name, &value, Some(&config)) {
        Err(e) => Ok(ret.with(Some(false), format!("Failed to set {name} to {value}: {e}"))),
        Ok("Updated") => {
            ret.change(&name, value_v);
            Ok(ret.with(Some(true), format!("Updated sysctl value {name} = {value}")))
        }
        Ok(_) => Ok(ret.with(
            Some(true),
            format!("Sysctl value {name} = {value} is already set"),
        )),
    }
}
