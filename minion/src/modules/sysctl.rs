//! `sysctl` execution functions (salt/modules/linux_sysctl.py): `show`,
//! `get`, `assign`, `persist` and `default_config`, through the `sysctl`
//! binary and the persistent config file, as Salt does on Linux.

use super::user::{run_argv, which};
use super::{bind, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("default_config", default_config_fn),
    ("show", show_fn),
    ("get", get_fn),
    ("assign", assign_fn),
    ("persist", persist_fn),
];

/// `sysctl.default_config`: `/etc/sysctl.d/99-salt.conf` when booted with
/// systemd >= 207, else `/etc/sysctl.conf`.
pub fn default_config() -> String {
    let booted = std::path::Path::new("/run/systemd/system").exists();
    if booted && systemd_version().is_some_and(|v| v >= 207) {
        "/etc/sysctl.d/99-salt.conf".into()
    } else {
        "/etc/sysctl.conf".into()
    }
}

/// The first number of `systemctl --version`.
fn systemd_version() -> Option<u32> {
    let out = std::process::Command::new("systemctl")
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// `sysctl.show(config_file)`: the `key = value` pairs of the config file
/// (`None` when unreadable, an empty list when missing, as Salt), or of
/// `sysctl -a`.
pub fn show(ctx: &Context, config_file: Option<&str>) -> Result<Value, String> {
    let mut ret = Map::default();
    match config_file {
        Some(path) => {
            if !std::path::Path::new(path).exists() {
                return Ok(Value::List(Vec::new()));
            }
            let Ok(text) = std::fs::read_to_string(path) else {
                tracing::error!("Could not open sysctl file");
                return Ok(Value::Null);
            };
            for line in text.lines() {
                let line = line.trim();
                if !line.starts_with('#') {
                    if let Some((k, v)) = line.split_once('=') {
                        ret.insert(Value::from(k.trim_end()), Value::from(v.trim_start()));
                    }
                }
            }
        }
        None => {
            let argv = vec![which("sysctl")?, "-a".into()];
            let out = run_argv(ctx, &argv, false, false)?.stdout;
            for line in out.lines() {
                if let Some((k, v)) = line.split_once(" = ") {
                    ret.insert(Value::from(k), Value::from(v));
                }
            }
        }
    }
    Ok(Value::Map(ret))
}

/// `sysctl.get`: `sysctl -n name` (stdout and stderr, as `cmd.run`).
pub fn get(ctx: &Context, name: &str) -> Result<String, String> {
    let argv = vec![which("sysctl")?, "-n".into(), name.into()];
    Ok(run_argv(ctx, &argv, true, false)?.stdout)
}

/// `sysctl.assign`: `sysctl -w name=value`, checked against its output.
pub fn assign(ctx: &Context, name: &str, value: &str) -> Result<Map, String> {
    let path: String = name
        .chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect();
    if !std::path::Path::new(&format!("/proc/sys/{path}")).exists() {
        return Err(format!("sysctl {name} does not exist"));
    }
    let argv = vec![which("sysctl")?, "-w".into(), format!("{name}={value}")];
    let data = run_argv(ctx, &argv, false, false)?;
    let re = regex::Regex::new(&format!(
        r"\A{}\s+=\s+{}\n?\z",
        regex::escape(name),
        regex::escape(value)
    ))
    .map_err(|e| e.to_string())?;
    if !re.is_match(&data.stdout) || data.stderr.contains("Invalid argument") {
        let error = if data.retcode != 0 && !data.stderr.is_empty() {
            &data.stderr
        } else {
            &data.stdout
        };
        return Err(format!("sysctl -w failed: {error}"));
    }
    let mut ret = Map::default();
    if let Some((k, v)) = data.stdout.split_once(" = ") {
        ret.insert(Value::from(k), Value::from(v));
    }
    Ok(ret)
}

/// Runs of whitespace as one tab (how procfs prints multi-value keys).
fn sanitize(value: &str) -> String {
    let mut out = String::new();
    let mut in_ws = false;
    for c in value.chars() {
        if c.is_whitespace() {
            if !in_ws {
                out.push('\t');
            }
            in_ws = true;
        } else {
            out.push(c);
            in_ws = false;
        }
    }
    out
}

/// `sysctl.persist`: set `name = value` in `config` (created with Salt's
/// header when missing) and in the kernel. "Updated" or "Already set".
pub fn persist(
    ctx: &Context,
    name: &str,
    value: &str,
    config: Option<&str>,
) -> Result<&'static str, String> {
    let config = config.map(str::to_string).unwrap_or_else(default_config);
    let path = std::path::Path::new(&config);
    if !path.is_file() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir)
                    .map_err(|_| format!("Could not write to file: {config}"))?;
            }
        }
        brine_core::fsutil::write_atomic(path, b"#\n# Kernel sysctl configuration\n#\n", None)
            .map_err(|_| format!("Could not write to file: {config}"))?;
    }
    let data =
        std::fs::read_to_string(path).map_err(|_| format!("Could not read from file: {config}"))?;
    let mut nlines: Vec<String> = Vec::new();
    let mut edited = false;
    for line in data.split_inclusive('\n') {
        let Some((k, v)) = line.split_once('=') else {
            nlines.push(line.to_string());
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.starts_with('#') || k != name {
            nlines.push(line.to_string());
            continue;
        }
        let wanted = sanitize(value);
        if sanitize(v) == wanted {
            if sanitize(&get(ctx, name)?) != wanted {
                assign(ctx, name, value)?;
                return Ok("Updated");
            }
            return Ok("Already set");
        }
        nlines.push(format!("{name} = {value}\n"));
        edited = true;
    }
    if !edited {
        nlines.push(format!("{name} = {value}\n"));
    }
    brine_core::fsutil::write_atomic(path, nlines.concat().as_bytes(), None)
        .map_err(|_| format!("Could not write to file: {config}"))?;
    assign(ctx, name, value)?;
    Ok("Updated")
}

fn default_config_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("sysctl.default_config", &[], 0, false, false, args, kwargs)?;
    Ok(Value::Str(default_config()))
}

fn show_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "sysctl.show",
        &["config_file"],
        0,
        false,
        false,
        args,
        kwargs,
    )?;
    let cfg = b.opt(0).filter(|v| v.truthy()).map(str_of);
    show(ctx, cfg.as_deref())
}

fn get_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("sysctl.get", &["name"], 1, false, false, args, kwargs)?;
    get(ctx, &str_of(&b.get(0, Value::Null))).map(Value::Str)
}

fn assign_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "sysctl.assign",
        &["name", "value"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let name = str_of(&b.get(0, Value::Null));
    let value = str_of(&b.get(1, Value::Null));
    assign(ctx, &name, &value).map(Value::Map)
}

fn persist_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "sysctl.persist",
        &["name", "value", "config"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let name = str_of(&b.get(0, Value::Null));
    let value = str_of(&b.get(1, Value::Null));
    let config = b.str(2);
    persist(ctx, &name, &value, config.as_deref()).map(Value::from)
}
