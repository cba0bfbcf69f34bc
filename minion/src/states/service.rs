//! `service` states (salt/states/service.py): running, dead, enabled,
//! disabled and mod_watch, over [`crate::modules::service::Service`] (the
//! provider Salt would load here, or the one a state's `provider:` names).
//! `mod_watch` reads the watched function from `sfun` in the low chunk.

use super::{Ret, StateCall, StateFunction};
use crate::modules::service::{Provider, Service};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "running",
        fun: running,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "dead",
        fun: dead,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "enabled",
        fun: enabled,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "disabled",
        fun: disabled,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "mod_watch",
        fun: mod_watch,
        required: &["name"],
        params: None,
    },
];

/// The provider for this state: `provider:` if it names one Brine has.
fn svc<'a>(call: &StateCall<'a>) -> Result<Service<'a>, String> {
    let provider = match call.opt_str("provider")? {
        Some(p) => Provider::from_name(&p)
            .ok_or_else(|| format!("Service provider '{p}' is not supported by Brine"))?,
        None => Provider::detect(),
    };
    Ok(Service {
        ctx: call.ctx,
        provider,
    })
}

/// `enable`: True / False / anything else (None) as Salt compares it
/// (`enable is True`), strings through `is_true`.
fn tri(call: &StateCall, key: &str) -> Option<bool> {
    match call.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        Some(v @ Value::Str(_)) => Some(crate::modules::is_true(v)),
        _ => None,
    }
}

/// What `_enable`/`_disable` return, merged into the state's ret.
#[derive(Default)]
struct Part {
    result: Option<bool>,
    comment: String,
    changes: Option<Map>,
}

impl Part {
    fn apply(self, ret: &mut Ret) {
        ret.result = self.result;
        ret.comment = Value::Str(self.comment);
        if let Some(c) = self.changes {
            ret.changes = c;
        }
    }
}

/// `_available`: `Some(part)` with the failure when the service is missing.
fn unavailable(s: &Service, name: &str) -> Result<Option<Part>, String> {
    if s.available(name)? {
        return Ok(None);
    }
    Ok(Some(Part {
        result: Some(false),
        comment: format!("The named service {name} is not available"),
        changes: None,
    }))
}

/// `started`: Some(true) running, None "in the desired state", Some(false)
/// dead.
fn tail(started: Option<bool>, name: &str, what: &str) -> String {
    match started {
        Some(true) => format!("Service {name} {what}, and is running"),
        None => format!("Service {name} {what}, and is in the desired state"),
        Some(false) => format!("Service {name} {what}, and is dead"),
    }
}

fn do_enable(
    call: &StateCall,
    s: &Service,
    name: &str,
    started: Option<bool>,
    result: Option<bool>,
) -> Result<Part, String> {
    if let Some(p) = unavailable(s, name)? {
        return Ok(p);
    }
    let mut part = Part {
        result,
        ..Default::default()
    };
    let before = s.enabled(name)?;
    if before {
        part.comment = tail(started, name, "is already enabled");
        if started.is_none() {
            part.changes = Some(Map::default());
        }
        return Ok(part);
    }
    if call.test {
        part.result = None;
        part.comment = format!("Service {name} set to be enabled");
        return Ok(part);
    }
    if s.enable(name)? {
        let mut changes = Map::default();
        if before != s.enabled(name)? {
            changes.insert(Value::from(name), Value::Bool(true));
        }
        part.changes = Some(changes);
        part.comment = tail(started, name, "has been enabled");
        return Ok(part);
    }
    part.result = Some(false);
    part.comment = match started {
        Some(true) => {
            format!("Failed when setting service {name} to start at boot, but the service is running")
        }
        None => format!(
            "Failed when setting service {name} to start at boot, but the service was already running"
        ),
        Some(false) => {
            format!("Failed when setting service {name} to start at boot, and the service is dead")
        }
    };
    Ok(part)
}

fn do_disable(
    call: &StateCall,
    s: &Service,
    name: &str,
    started: Option<bool>,
    result: Option<bool>,
) -> Result<Part, String> {
    if let Some(mut p) = unavailable(s, name)? {
        p.result = Some(true);
        return Ok(p);
    }
    let mut part = Part {
        result,
        ..Default::default()
    };
    let before = s.disabled(name)?;
    if before {
        part.comment = tail(started, name, "is already disabled");
        if started.is_none() {
            part.changes = Some(Map::default());
        }
        return Ok(part);
    }
    if call.test {
        part.result = None;
        part.comment = format!("Service {name} set to be disabled");
        return Ok(part);
    }
    if s.disable(name)? {
        let mut changes = Map::default();
        if before != s.disabled(name)? {
            changes.insert(Value::from(name), Value::Bool(true));
        }
        part.changes = Some(changes);
        part.comment = tail(started, name, "has been disabled");
        return Ok(part);
    }
    part.result = Some(false);
    part.comment = match started {
        Some(true) => {
            format!("Failed when setting service {name} to not start at boot, and is running")
        }
        None => format!(
            "Failed when setting service {name} to not start at boot, but the service was already running"
        ),
        Some(false) => format!(
            "Failed when setting service {name} to not start at boot, and the service is dead"
        ),
    };
    Ok(part)
}

fn enabled_used_error(mut ret: Ret, name: &str) -> Ret {
    ret.result = Some(false);
    ret.comment = Value::Str(format!(
        "Service {name} uses non-existent option \"enabled\".  Perhaps \"enable\" option was intended?"
    ));
    ret
}

/// `init_delay` seconds, if given and non-zero.
fn init_delay(call: &StateCall) -> Option<Value> {
    call.get("init_delay").filter(|v| v.truthy()).cloned()
}

fn sleep_for(v: &Value) {
    let secs = match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        other => str_of(other).parse().unwrap_or(0.0),
    };
    if secs > 0.0 && secs.is_finite() {
        std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    }
}

fn running(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let mut ret = Ret::new(call.get("name").cloned().unwrap_or(Value::Null));
    if call.get("enabled").is_some() || call.low.contains_key(&Value::from("enabled")) {
        return Ok(enabled_used_error(ret, &name));
    }
    let enable = tri(call, "enable");
    let s = svc(call)?;
    if s.offline() {
        ret.comment = Value::from("Running in OFFLINE mode. Nothing to do");
        return Ok(ret);
    }
    if let Some(p) = unavailable(&s, &name)? {
        p.apply(&mut ret);
        if call.test {
            ret.result = None;
            ret.comment = Value::Str(format!(
                "Service {name} not present; if created in this state run, it would have been started"
            ));
        }
        return Ok(ret);
    }
    let sig = call.opt_str("sig")?;
    let before = s.is_running(&name, sig.as_deref())?;
    let before_enabled = s.enabled(&name)?;
    if before {
        ret.comment = Value::Str(format!("The service {name} is already running"));
        if enable == Some(true) && !before_enabled {
            do_enable(call, &s, &name, None, Some(true))?.apply(&mut ret);
        } else if enable == Some(false) && before_enabled {
            do_disable(call, &s, &name, None, Some(true))?.apply(&mut ret);
        }
        return Ok(ret);
    }
    if call.test {
        ret.result = None;
        ret.comment = Value::Str(format!("Service {name} is set to start"));
        return Ok(ret);
    }
    if !s.action(&name, "start")? {
        ret.result = Some(false);
        ret.comment = Value::Str(format!("Service {name} failed to start"));
        if enable == Some(true) {
            do_enable(call, &s, &name, Some(false), Some(false))?.apply(&mut ret);
        } else if enable == Some(false) {
            do_disable(call, &s, &name, Some(false), Some(false))?.apply(&mut ret);
        }
        return Ok(ret);
    }
    let delay = init_delay(call);
    if let Some(d) = &delay {
        sleep_for(d);
    }
    let after = s.is_running(&name, sig.as_deref())?;
    let after_enabled = s.enabled(&name)?;
    if (before_enabled != after_enabled || before != after) && ret.changes.is_empty() {
        ret.change(&name, Value::Bool(after));
    }
    if after {
        ret.comment = Value::Str(format!("Started service {name}"));
    } else {
        ret.comment = Value::Str(format!("Service {name} failed to start"));
        ret.result = Some(false);
    }
    if enable == Some(true) {
        do_enable(call, &s, &name, Some(after), Some(after))?.apply(&mut ret);
    } else if enable == Some(false) {
        do_disable(call, &s, &name, Some(after), Some(after))?.apply(&mut ret);
    }
    if let Some(d) = &delay {
        ret.comment = Value::Str(format!(
            "{}\nDelayed return for {} seconds",
            str_of(&ret.comment),
            str_of(d)
        ));
    }
    Ok(ret)
}

fn dead(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let mut ret = Ret::new(call.get("name").cloned().unwrap_or(Value::Null));
    if call.low.contains_key(&Value::from("enabled")) {
        return Ok(enabled_used_error(ret, &name));
    }
    let enable = tri(call, "enable");
    let s = svc(call)?;
    if s.offline() {
        ret.comment = Value::from("Running in OFFLINE mode. Nothing to do");
        return Ok(ret);
    }
    if let Some(p) = unavailable(&s, &name)? {
        p.apply(&mut ret);
        if call.test {
            ret.result = None;
            ret.comment = Value::Str(format!(
                "Service {name} not present; if created in this state run, it would have been stopped"
            ));
        } else {
            ret.result = Some(true);
        }
        return Ok(ret);
    }
    let sig = call.opt_str("sig")?;
    let before = s.is_running(&name, sig.as_deref())?;
    let before_enabled = s.enabled(&name)?;
    if !before {
        ret.comment = Value::Str(format!("The service {name} is already dead"));
        if enable == Some(true) && !before_enabled {
            do_enable(call, &s, &name, None, Some(true))?.apply(&mut ret);
        } else if enable == Some(false) && before_enabled {
            do_disable(call, &s, &name, None, Some(true))?.apply(&mut ret);
        }
        return Ok(ret);
    }
    if call.test {
        ret.result = None;
        ret.comment = Value::Str(format!("Service {name} is set to be killed"));
        return Ok(ret);
    }
    if !s.action(&name, "stop")? {
        ret.result = Some(false);
        ret.comment = Value::Str(format!("Service {name} failed to die"));
        if enable == Some(true) {
            do_enable(call, &s, &name, Some(true), Some(false))?.apply(&mut ret);
        } else if enable == Some(false) {
            do_disable(call, &s, &name, Some(true), Some(false))?.apply(&mut ret);
        }
        return Ok(ret);
    }
    if let Some(d) = init_delay(call) {
        sleep_for(&d);
    }
    // Salt checks the status again without `sig`.
    let after = s.is_running(&name, None)?;
    let after_enabled = s.enabled(&name)?;
    if (before_enabled != after_enabled || before != after) && ret.changes.is_empty() {
        ret.change(&name, Value::Bool(after));
    }
    if after {
        ret.result = Some(false);
        ret.comment = Value::Str(format!("Service {name} failed to die"));
    } else {
        ret.comment = Value::Str(format!("Service {name} was killed"));
    }
    if enable == Some(true) {
        do_enable(call, &s, &name, Some(after), Some(!after))?.apply(&mut ret);
    } else if enable == Some(false) {
        do_disable(call, &s, &name, Some(after), Some(!after))?.apply(&mut ret);
    }
    Ok(ret)
}

fn enabled(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let mut ret = Ret::new(call.get("name").cloned().unwrap_or(Value::Null));
    let s = svc(call)?;
    do_enable(call, &s, &name, None, Some(true))?.apply(&mut ret);
    if call.test && str_of(&ret.comment) == format!("The named service {name} is not available") {
        ret.result = None;
        ret.comment = Value::Str(format!(
            "Service {name} not present; if created in this state run, it would have been enabled"
        ));
    }
    Ok(ret)
}

fn disabled(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let mut ret = Ret::new(call.get("name").cloned().unwrap_or(Value::Null));
    let s = svc(call)?;
    do_disable(call, &s, &name, None, Some(true))?.apply(&mut ret);
    Ok(ret)
}

/// `service.mod_watch`: restart (or reload, start, stop) a watched service.
fn mod_watch(call: &StateCall) -> Result<Ret, String> {
    let name = call.name();
    let mut ret = Ret::new(call.get("name").cloned().unwrap_or(Value::Null));
    let s = svc(call)?;
    let sig = call.opt_str("sig")?;
    let sfun = call.opt_str("sfun")?.unwrap_or_else(|| "None".into());
    let (verb, action, past) = match sfun.as_str() {
        "dead" => {
            if !s.is_running(&name, sig.as_deref())? {
                ret.comment = Value::from("Service is already stopped");
                return Ok(ret);
            }
            ("stop", "stop", "stopped".to_string())
        }
        "running" => {
            let (verb, action) = if s.is_running(&name, sig.as_deref())? {
                if call.bool_or("reload", false)? {
                    if call.bool_or("force", false)? {
                        ("forcefully reload", "force-reload")
                    } else {
                        ("reload", "reload")
                    }
                } else {
                    // Neither provider has `full_restart`: Salt restarts.
                    ("restart", "restart")
                }
            } else {
                ("start", "start")
            };
            (verb, action, format!("{verb}ed"))
        }
        other => {
            ret.result = Some(false);
            ret.comment = Value::Str(format!("Unable to trigger watch for service.{other}"));
            return Ok(ret);
        }
    };
    if call.test {
        ret.result = None;
        ret.comment = Value::Str(format!("Service is set to be {past}"));
        return Ok(ret);
    }
    if verb == "start" {
        s.action(&name, "stop")?;
    }
    let result = s.action(&name, action)?;
    if let Some(d) = init_delay(call) {
        sleep_for(&d);
    }
    ret.change(&name, Value::Bool(result));
    ret.result = Some(result);
    ret.comment = Value::Str(if result {
        format!("Service {past}")
    } else {
        format!("Failed to {verb} the service")
    });
    Ok(ret)
}
