//! `service` execution functions, with Salt's two Linux providers:
//! `systemd_service` (salt/modules/systemd_service.py) when the system was
//! booted with systemd (`/run/systemd/system` exists, as
//! `salt.utils.systemd.booted`), else `debian_service`
//! (salt/modules/debian_service.py: `service NAME start|stop|...`,
//! `insserv NAME && update-rc.d NAME enable`, `update-rc.d NAME disable`,
//! enabled = `S` links in `/etc/rc[S<runlevel>].d`, every script in
//! `/etc/init.d`). A state's `provider: systemd` / `provider: service`
//! picks one explicitly ([`Provider::from_name`]).
//!
//! The systemd provider covers start/stop/restart/reload/status/enable/
//! disable/enabled and the listings through `systemctl`. With systemctl
//! present but systemd not running, Salt loads systemd_service as well (in
//! "offline" mode) and its `service.offline` makes the running/dead states
//! do nothing: see [`Service::offline`].

use super::{bind, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use std::collections::BTreeSet;

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("start", start),
    ("stop", stop),
    ("restart", restart),
    ("reload", reload),
    ("force_reload", force_reload),
    ("status", status),
    ("enable", enable),
    ("disable", disable),
    ("enabled", enabled),
    ("disabled", disabled),
    ("available", available),
    ("missing", missing),
    ("get_all", get_all),
    ("get_enabled", get_enabled),
    ("get_disabled", get_disabled),
];

/// Which Salt module answers `service.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// salt/modules/systemd_service.py
    Systemd,
    /// salt/modules/debian_service.py
    Debian,
}

/// `salt.utils.systemd.booted`.
pub fn systemd_booted() -> bool {
    std::path::Path::new("/run/systemd/system").exists()
}

impl Provider {
    /// The provider Salt's loader would pick on this machine.
    pub fn detect() -> Provider {
        if systemd_booted() {
            Provider::Systemd
        } else {
            Provider::Debian
        }
    }

    /// A state's `provider:` value (`systemd`, `systemd_service`,
    /// `service`, `debian_service`); `None` for others.
    pub fn from_name(name: &str) -> Option<Provider> {
        match name {
            "systemd" | "systemd_service" => Some(Provider::Systemd),
            "service" | "debian_service" | "sysvinit" => Some(Provider::Debian),
            _ => None,
        }
    }
}

/// One provider bound to a context: the functions the `service` states
/// call.
pub struct Service<'a> {
    pub ctx: &'a Context,
    pub provider: Provider,
}

/// `re.split(r"\d+", s)[-1]`.
fn after_last_digits(s: &str) -> &str {
    match s.rfind(|c: char| c.is_ascii_digit()) {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

/// Python's `fnmatch.fnmatch` subset for service names (`*`, `?`, `[..]`).
fn glob_match(pattern: &str, name: &str) -> bool {
    let re = {
        let mut r = String::from("^");
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => r.push_str(".*"),
                '?' => r.push('.'),
                '[' => {
                    let mut class = String::new();
                    let mut closed = false;
                    for n in chars.by_ref() {
                        if n == ']' {
                            closed = true;
                            break;
                        }
                        class.push(n);
                    }
                    if closed {
                        let class = class.replacen('!', "^", 1).replace('\\', "\\\\");
                        r.push('[');
                        r.push_str(&class);
                        r.push(']');
                    } else {
                        r.push_str("\\[");
                        r.push_str(&regex::escape(&class));
                    }
                }
                other => r.push_str(&regex::escape(&other.to_string())),
            }
        }
        r.push('$');
        r
    };
    regex::Regex::new(&re).is_ok_and(|re| re.is_match(name))
}

impl Service<'_> {
    /// `cmd.retcode(cmd)` (split, not through a shell) == 0.
    fn ok(&self, cmd: &str, python_shell: bool, ignore_retcode: bool) -> Result<bool, String> {
        let mut kw = Map::default();
        kw.insert(Value::from("python_shell"), Value::Bool(python_shell));
        if ignore_retcode {
            kw.insert(Value::from("ignore_retcode"), Value::Bool(true));
        }
        let rc = self
            .ctx
            .call_raw("cmd.retcode", vec![Value::from(cmd)], kw)?;
        Ok(!rc.truthy())
    }

    fn systemctl(&self, args: &[&str], ignore_retcode: bool) -> Result<(i128, String), String> {
        let exe =
            super::cmd::path_which("systemctl").ok_or_else(|| "systemctl not found".to_string())?;
        let mut argv = vec![Value::Str(exe)];
        argv.extend(args.iter().map(|a| Value::from(*a)));
        let mut kw = Map::default();
        kw.insert(Value::from("python_shell"), Value::Bool(false));
        kw.insert(Value::from("ignore_retcode"), Value::Bool(ignore_retcode));
        kw.insert(Value::from("redirect_stderr"), Value::Bool(true));
        let r = self
            .ctx
            .call_raw("cmd.run_all", vec![Value::List(argv)], kw)?;
        let rc = match r.get("retcode") {
            Some(Value::Int(i)) => *i,
            _ => 1,
        };
        Ok((rc, r.get("stdout").map(str_of).unwrap_or_default()))
    }

    /// `_canonical_unit_name`: a bare name is a `.service`.
    fn unit(name: &str) -> String {
        const SUFFIXES: &[&str] = &[
            ".service",
            ".socket",
            ".device",
            ".mount",
            ".automount",
            ".swap",
            ".target",
            ".path",
            ".timer",
        ];
        if SUFFIXES.iter().any(|s| name.ends_with(s)) {
            name.to_string()
        } else {
            format!("{name}.service")
        }
    }

    /// `debian_service._get_runlevel`.
    fn runlevel(&self) -> Result<String, String> {
        let out = self
            .ctx
            .call_raw("cmd.run", vec![Value::from("runlevel")], Map::default())?;
        let out = str_of(&out);
        if out.contains("unknown") {
            return Ok("2".into());
        }
        out.split_whitespace()
            .nth(1)
            .map(str::to_string)
            .ok_or_else(|| format!("IndexError: unexpected runlevel output {out:?}"))
    }

    /// `service.offline` (systemd_service's, `salt.utils.systemd.offline`):
    /// systemctl is there but systemd is not running. Salt's loader merges
    /// every module named `service` that loads, and systemd_service loads
    /// in offline mode too, so its `offline` answers even when
    /// debian_service provides the rest (or a state names a provider):
    /// `service.running`/`service.dead` then do nothing.
    pub fn offline(&self) -> bool {
        !systemd_booted() && super::cmd::path_which("systemctl").is_some()
    }

    pub fn get_enabled(&self) -> Result<Vec<String>, String> {
        match self.provider {
            Provider::Debian => {
                let rl = self.runlevel()?;
                let mut set = BTreeSet::new();
                for dir in ["S".to_string(), rl] {
                    let Ok(rd) = std::fs::read_dir(format!("/etc/rc{dir}.d")) else {
                        continue;
                    };
                    for e in rd.flatten() {
                        let f = e.file_name().to_string_lossy().into_owned();
                        if f.starts_with('S') {
                            set.insert(after_last_digits(&f).to_string());
                        }
                    }
                }
                Ok(set.into_iter().collect())
            }
            Provider::Systemd => {
                let (_, out) = self.systemctl(
                    &["--full", "--no-legend", "--no-pager", "list-unit-files"],
                    true,
                )?;
                let mut set = BTreeSet::new();
                for line in out.lines() {
                    let mut f = line.split_whitespace();
                    if let (Some(unit), Some("enabled")) = (f.next(), f.next()) {
                        if let Some(n) = unit.strip_suffix(".service") {
                            set.insert(n.to_string());
                        } else if unit.ends_with(".timer") {
                            set.insert(unit.to_string());
                        }
                    }
                }
                Ok(set.into_iter().collect())
            }
        }
    }

    pub fn get_all(&self) -> Result<Vec<String>, String> {
        match self.provider {
            Provider::Debian => {
                let mut set: BTreeSet<String> = BTreeSet::new();
                if let Ok(rd) = std::fs::read_dir("/etc/init.d") {
                    for e in rd.flatten() {
                        let f = e.file_name().to_string_lossy().into_owned();
                        // glob("/etc/init.d/*") skips dotfiles.
                        if f != "README" && !f.starts_with('.') {
                            set.insert(f);
                        }
                    }
                }
                set.extend(self.get_enabled()?);
                Ok(set.into_iter().collect())
            }
            Provider::Systemd => {
                let (_, out) = self.systemctl(
                    &["--full", "--no-legend", "--no-pager", "list-unit-files"],
                    true,
                )?;
                let mut set = BTreeSet::new();
                for line in out.lines() {
                    if let Some(unit) = line.split_whitespace().next() {
                        if let Some(n) = unit.strip_suffix(".service") {
                            set.insert(n.to_string());
                        } else if unit.ends_with(".timer") {
                            set.insert(unit.to_string());
                        }
                    }
                }
                if let Ok(rd) = std::fs::read_dir("/etc/init.d") {
                    for e in rd.flatten() {
                        let f = e.file_name().to_string_lossy().into_owned();
                        if f != "README" && !f.starts_with('.') {
                            set.insert(f);
                        }
                    }
                }
                Ok(set.into_iter().collect())
            }
        }
    }

    pub fn get_disabled(&self) -> Result<Vec<String>, String> {
        let enabled: BTreeSet<String> = self.get_enabled()?.into_iter().collect();
        Ok(self
            .get_all()?
            .into_iter()
            .filter(|s| !enabled.contains(s))
            .collect())
    }

    pub fn available(&self, name: &str) -> Result<bool, String> {
        Ok(self.get_all()?.iter().any(|s| s == name))
    }

    /// start, stop, restart, reload, force-reload.
    pub fn action(&self, name: &str, verb: &str) -> Result<bool, String> {
        match self.provider {
            Provider::Debian => self.ok(&format!("service {name} {verb}"), false, false),
            Provider::Systemd => {
                let unit = Self::unit(name);
                let (rc, _) = self.systemctl(&[verb, &unit], false)?;
                Ok(rc == 0)
            }
        }
    }

    /// `service.status(name, sig)`; a glob name gives a dict.
    pub fn status(&self, name: &str, sig: Option<&str>) -> Result<Value, String> {
        if let Some(sig) = sig.filter(|s| !s.is_empty()) {
            return Ok(Value::Bool(status_pid(self.ctx, sig)?));
        }
        let globbing = regex::Regex::new(r"\*|\?|\[.+\]")
            .map(|re| re.is_match(name))
            .unwrap_or(false);
        let services: Vec<String> = if globbing {
            self.get_all()?
                .into_iter()
                .filter(|s| glob_match(name, s))
                .collect()
        } else {
            vec![name.to_string()]
        };
        let mut results = Map::default();
        for s in &services {
            let up = match self.provider {
                Provider::Debian => self.ok(&format!("service {s} status"), false, true)?,
                Provider::Systemd => {
                    let (rc, _) = self.systemctl(&["is-active", &Self::unit(s)], true)?;
                    rc == 0
                }
            };
            results.insert(Value::Str(s.clone()), Value::Bool(up));
        }
        if globbing {
            return Ok(Value::Map(results));
        }
        Ok(results
            .get(&Value::from(name))
            .cloned()
            .unwrap_or(Value::Bool(false)))
    }

    /// Whether `name` runs (non-glob [`Service::status`]).
    pub fn is_running(&self, name: &str, sig: Option<&str>) -> Result<bool, String> {
        Ok(self.status(name, sig)?.truthy())
    }

    pub fn enable(&self, name: &str) -> Result<bool, String> {
        match self.provider {
            Provider::Debian => {
                let q = shell_quote(name);
                self.ok(
                    &format!("insserv {q} && update-rc.d {q} enable"),
                    true,
                    false,
                )
            }
            Provider::Systemd => {
                let (rc, _) = self.systemctl(&["enable", &Self::unit(name)], false)?;
                Ok(rc == 0)
            }
        }
    }

    pub fn disable(&self, name: &str) -> Result<bool, String> {
        match self.provider {
            Provider::Debian => self.ok(&format!("update-rc.d {name} disable"), false, false),
            Provider::Systemd => {
                let (rc, _) = self.systemctl(&["disable", &Self::unit(name)], false)?;
                Ok(rc == 0)
            }
        }
    }

    pub fn enabled(&self, name: &str) -> Result<bool, String> {
        match self.provider {
            Provider::Debian => Ok(self.get_enabled()?.iter().any(|s| s == name)),
            Provider::Systemd => {
                let (_, out) = self.systemctl(&["is-enabled", &Self::unit(name)], true)?;
                Ok(matches!(
                    out.trim(),
                    "enabled" | "enabled-runtime" | "static" | "alias" | "indirect"
                ))
            }
        }
    }

    pub fn disabled(&self, name: &str) -> Result<bool, String> {
        match self.provider {
            Provider::Debian => Ok(self.get_disabled()?.iter().any(|s| s == name)),
            Provider::Systemd => Ok(!self.enabled(name)?),
        }
    }
}

/// `bool(status.pid(sig))`: whether a line of `ps` (the `ps` grain,
/// `ps -efHww`) other than this process's matches the regular expression
/// `sig`.
fn status_pid(ctx: &Context, sig: &str) -> Result<bool, String> {
    let re = regex::Regex::new(sig).map_err(|e| format!("error: {e}"))?;
    let ps = ctx
        .grains()
        .get("ps")
        .map(str_of)
        .unwrap_or_else(|| "ps -efHww".into());
    let mut kw = Map::default();
    kw.insert(Value::from("python_shell"), Value::Bool(true));
    let out = ctx.call_raw("cmd.run_stdout", vec![Value::Str(ps)], kw)?;
    let me = std::process::id().to_string();
    Ok(str_of(&out)
        .lines()
        .filter(|l| !l.contains(&me))
        .any(|l| re.is_match(l) && l.split_whitespace().nth(1).is_some()))
}

/// Python's `shlex.quote`.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

fn service(ctx: &Context) -> Service<'_> {
    Service {
        ctx,
        provider: Provider::detect(),
    }
}

/// Bind `(name, **kwargs)`.
fn name_arg(fun: &str, args: Vec<Value>, kwargs: Map) -> Result<String, String> {
    let b = bind(fun, &["name"], 1, false, true, args, kwargs)?;
    Ok(str_of(&b.get(0, Value::Null)))
}

/// Bind `(name)` only.
fn name_only(fun: &str, args: Vec<Value>, kwargs: Map) -> Result<String, String> {
    let b = bind(fun, &["name"], 1, false, false, args, kwargs)?;
    Ok(str_of(&b.get(0, Value::Null)))
}

fn action_fn(
    ctx: &Context,
    fun: &str,
    verb: &str,
    args: Vec<Value>,
    kwargs: Map,
) -> Result<Value, String> {
    let svc = service(ctx);
    let name = match svc.provider {
        Provider::Debian => name_only(fun, args, kwargs)?,
        Provider::Systemd => name_arg(fun, args, kwargs)?,
    };
    Ok(Value::Bool(svc.action(&name, verb)?))
}

fn start(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    action_fn(ctx, "service.start", "start", args, kwargs)
}

fn stop(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    action_fn(ctx, "service.stop", "stop", args, kwargs)
}

fn restart(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    action_fn(ctx, "service.restart", "restart", args, kwargs)
}

fn reload(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    action_fn(ctx, "service.reload", "reload", args, kwargs)
}

fn force_reload(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    action_fn(ctx, "service.force_reload", "force-reload", args, kwargs)
}

fn status(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "service.status",
        &["name", "sig"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let name = str_of(&b.get(0, Value::Null));
    service(ctx).status(&name, b.str(1).as_deref())
}

fn enable(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let name = name_arg("service.enable", args, kwargs)?;
    Ok(Value::Bool(service(ctx).enable(&name)?))
}

fn disable(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let name = name_arg("service.disable", args, kwargs)?;
    Ok(Value::Bool(service(ctx).disable(&name)?))
}

fn enabled(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let name = name_arg("service.enabled", args, kwargs)?;
    Ok(Value::Bool(service(ctx).enabled(&name)?))
}

fn disabled(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let name = name_only("service.disabled", args, kwargs)?;
    Ok(Value::Bool(service(ctx).disabled(&name)?))
}

fn available(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let name = name_only("service.available", args, kwargs)?;
    Ok(Value::Bool(service(ctx).available(&name)?))
}

fn missing(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let name = name_only("service.missing", args, kwargs)?;
    Ok(Value::Bool(!service(ctx).available(&name)?))
}

fn list(v: Vec<String>) -> Value {
    Value::List(v.into_iter().map(Value::Str).collect())
}

fn no_args(fun: &str, args: Vec<Value>, kwargs: Map) -> Result<(), String> {
    bind(fun, &[], 0, false, false, args, kwargs).map(|_| ())
}

fn get_all(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    no_args("service.get_all", args, kwargs)?;
    Ok(list(service(ctx).get_all()?))
}

fn get_enabled(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    no_args("service.get_enabled", args, kwargs)?;
    Ok(list(service(ctx).get_enabled()?))
}

fn get_disabled(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    no_args("service.get_disabled", args, kwargs)?;
    Ok(list(service(ctx).get_disabled()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc_link_names() {
        assert_eq!(after_last_digits("S01dbus"), "dbus");
        assert_eq!(after_last_digits("S20my2svc"), "svc");
        assert_eq!(after_last_digits("Sfoo"), "Sfoo");
    }

    #[test]
    fn globs() {
        assert!(glob_match("db*", "dbus"));
        assert!(glob_match("d?us", "dbus"));
        assert!(glob_match("[a-d]bus", "dbus"));
        assert!(!glob_match("x*", "dbus"));
    }

    #[test]
    fn quotes_like_python() {
        assert_eq!(shell_quote("nginx"), "nginx");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\"'\"'s'");
    }
}
