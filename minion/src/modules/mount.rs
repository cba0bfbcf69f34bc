//! `mount` execution functions (salt/modules/mount.py, Linux): `active`
//! (from /proc/self/mountinfo, or /proc/self/mounts), `fstab`,
//! `set_fstab`, `rm_fstab`, `mount`, `umount`, `remount`, `is_mounted`
//! and the mount cache (`<cachedir>/mounts`) the mount state keeps.

use super::user::run_argv;
use super::{bind, cmd::shlex_split, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("active", active_fn),
    ("fstab", fstab_fn),
    ("set_fstab", set_fstab_fn),
    ("rm_fstab", rm_fstab_fn),
    ("mount", mount_fn),
    ("umount", umount_fn),
    ("remount", remount_fn),
    ("is_mounted", is_mounted_fn),
];

fn v(s: &str) -> Value {
    Value::from(s)
}

fn str_list(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| v(s)).collect())
}

/// `mount -l`: mount point to device.
fn list_mounts(ctx: &Context) -> Map {
    let mut ret = Map::default();
    let argv = vec!["mount".to_string(), "-l".to_string()];
    let out = run_argv(ctx, &argv, false, true)
        .map(|o| o.stdout)
        .unwrap_or_default();
    for line in out.split('\n') {
        let comps: Vec<&str> = line.split_whitespace().collect();
        if comps.len() >= 3 {
            ret.insert(v(comps[2]), v(comps[0]));
        }
    }
    ret
}

/// `disk.blkid`: device to its attributes.
fn blkid(ctx: &Context) -> Map {
    let mut ret = Map::default();
    let Some(exe) = super::cmd::path_which("blkid") else {
        return ret;
    };
    let Ok(out) = run_argv(ctx, &[exe], false, true) else {
        return ret;
    };
    if out.retcode > 0 {
        return ret;
    }
    for line in out.stdout.lines().filter(|l| !l.is_empty()) {
        let Some((dev, rest)) = line.split_once(' ') else {
            continue;
        };
        let dev = dev.strip_suffix(':').unwrap_or(dev);
        let mut info = Map::default();
        let parts: Vec<&str> = rest.split('"').collect();
        for pair in parts.chunks(2) {
            if let [k, val] = pair {
                let k = k.trim().trim_end_matches('=').trim();
                info.insert(v(k), v(val));
            }
        }
        ret.insert(v(dev), Value::Map(info));
    }
    ret
}

/// Salt's `_resolve_user_group_names`: `uid=name`/`gid=name` to numbers,
/// `\040` shown as `\ `.
fn resolve_names(opts: &str) -> Vec<String> {
    opts.split(',')
        .map(|opt| {
            let mut opt = opt.to_string();
            if let Some((param, given)) = opt.clone().split_once('=') {
                if param == "uid" || param == "gid" {
                    let mut id = given.to_string();
                    if !given.chars().all(|c| c.is_ascii_digit()) || given.is_empty() {
                        let found = if param == "uid" {
                            super::user::getpwnam(given).map(|p| p.uid)
                        } else {
                            super::group::getgrnam(given).map(|g| g.gid)
                        };
                        if let Some(n) = found {
                            id = n.to_string();
                        }
                    }
                    opt = format!("{param}={id}");
                }
            }
            opt.replace("\\040", "\\ ")
        })
        .collect()
}

/// `mount.active(extended)`: mount point to its details.
pub fn active(ctx: &Context, extended: bool) -> Result<Map, String> {
    let list = list_mounts(ctx);
    let mut ret = Map::default();
    let alt = |p: &str| list.get(&v(p)).cloned().unwrap_or(Value::Null);
    if extended {
        if let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") {
            let blk = blkid(ctx);
            for line in text.lines() {
                let comps: Vec<&str> = line.split_whitespace().collect();
                let Some(sep) = comps.iter().position(|c| *c == "-") else {
                    continue;
                };
                if comps.len() < sep + 4 || sep < 6 {
                    continue;
                }
                let (major, minor) = comps[2].split_once(':').unwrap_or((comps[2], ""));
                let dev = comps[sep + 2];
                let attr = |k: &str| {
                    blk.get(&v(dev))
                        .and_then(|i| i.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                let uuid = attr("UUID")
                    .map(|u| v(&u.to_lowercase()))
                    .unwrap_or(Value::Null);
                let label = attr("LABEL").map(Value::Str).unwrap_or(Value::Null);
                let mut m = Map::default();
                m.insert(v("mountid"), v(comps[0]));
                m.insert(v("parentid"), v(comps[1]));
                m.insert(v("major"), v(major));
                m.insert(v("minor"), v(minor));
                m.insert(v("root"), v(comps[3]));
                m.insert(v("opts"), str_list(&resolve_names(comps[5])));
                m.insert(v("fstype"), v(comps[sep + 1]));
                m.insert(v("device"), Value::Str(dev.replace("\\040", "\\ ")));
                m.insert(v("alt_device"), alt(comps[4]));
                m.insert(v("superopts"), str_list(&resolve_names(comps[sep + 3])));
                m.insert(v("device_uuid"), uuid);
                m.insert(v("device_label"), label);
                ret.insert(v(comps[4]), Value::Map(m));
            }
            return Ok(ret);
        }
    }
    let text = std::fs::read_to_string("/proc/self/mounts")
        .map_err(|_| "File not readable /proc/self/mounts".to_string())?;
    for line in text.lines() {
        let comps: Vec<&str> = line.split_whitespace().collect();
        if comps.len() < 4 {
            continue;
        }
        let mut m = Map::default();
        m.insert(v("device"), v(comps[0]));
        m.insert(v("alt_device"), alt(comps[1]));
        m.insert(v("fstype"), v(comps[2]));
        m.insert(v("opts"), str_list(&resolve_names(comps[3])));
        ret.insert(v(comps[1]), Value::Map(m));
    }
    Ok(ret)
}

/// The six fields of an fstab line, or `None` for comments and lines with
/// fewer than 4 or more than 6 fields (Salt's `dict_from_line`).
fn fstab_fields(line: &str) -> Option<[String; 6]> {
    if line.starts_with('#') {
        return None;
    }
    let mut comps: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    if comps.len() < 4 || comps.len() > 6 {
        return None;
    }
    comps.resize(6, "0".into());
    comps.try_into().ok()
}

const FSTAB_KEYS: [&str; 6] = ["device", "name", "fstype", "opts", "dump", "pass_num"];

/// `mount.fstab`: mount point to `{device, fstype, opts, dump, pass}`.
pub fn fstab(config: &str) -> Map {
    let mut ret = Map::default();
    let Ok(text) = std::fs::read_to_string(config) else {
        return ret;
    };
    for line in text.split_inclusive('\n') {
        let Some(f) = fstab_fields(line) else {
            continue;
        };
        let mut name = f[1].clone();
        while ret.contains_key(&v(&name)) {
            name.push('_');
        }
        let mut m = Map::default();
        m.insert(v("device"), v(&f[0]));
        m.insert(v("fstype"), v(&f[2]));
        m.insert(v("opts"), Value::List(f[3].split(',').map(v).collect()));
        m.insert(v("dump"), v(&f[4]));
        m.insert(v("pass"), v(&f[5]));
        ret.insert(Value::Str(name), Value::Map(m));
    }
    ret
}

/// Whether `line` matches every `(key index, value)` criterion (options
/// compared as sorted sets of words).
fn line_matches(line: &str, criteria: &[(usize, String)]) -> Option<bool> {
    let f = fstab_fields(line)?;
    Some(criteria.iter().all(|(i, want)| {
        if *i == 3 {
            let mut a: Vec<&str> = f[3].split(',').collect();
            let mut b: Vec<&str> = want.split(',').collect();
            a.sort();
            b.sort();
            a == b
        } else {
            f[*i] == *want
        }
    }))
}

/// What `set_fstab` takes.
pub struct FstabEntry {
    pub name: String,
    pub device: String,
    pub fstype: String,
    pub opts: String,
    pub dump: String,
    pub pass_num: String,
}

/// `mount.set_fstab`: "present", "change" or "new" (written unless `test`).
pub fn set_fstab(
    e: &FstabEntry,
    config: &str,
    test: bool,
    match_on: &[String],
) -> Result<&'static str, String> {
    let fields = [
        e.device.replace("\\ ", "\\040"),
        e.name.clone(),
        e.fstype.clone(),
        e.opts.replace("\\ ", "\\040"),
        e.dump.clone(),
        e.pass_num.clone(),
    ];
    let keys: Vec<String> = if match_on.len() == 1 && match_on[0] == "auto" {
        const SPECIAL: [&str; 13] = [
            "none",
            "tmpfs",
            "sysfs",
            "proc",
            "fusectl",
            "debugfs",
            "securityfs",
            "devtmpfs",
            "cgroup",
            "nfs",
            "nfs4",
            "glusterfs",
            "btrfs",
        ];
        vec![if SPECIAL.contains(&e.fstype.as_str()) {
            "name".into()
        } else {
            "device".into()
        }]
    } else {
        match_on.to_vec()
    };
    let mut criteria = Vec::new();
    for k in &keys {
        let Some(i) = FSTAB_KEYS.iter().position(|x| x == k) else {
            return Err(format!("Unrecognized keys in match_on: \"{k}\""));
        };
        criteria.push((i, fields[i].clone()));
    }
    let all: Vec<(usize, String)> = fields.iter().cloned().enumerate().collect();
    let entry_line = format!(
        "{}\t\t{}\t{}\t{}\t{} {}\n",
        fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
    );
    if !std::path::Path::new(config).is_file() {
        return Err(format!("Bad config file \"{config}\""));
    }
    let text =
        std::fs::read_to_string(config).map_err(|e| format!("Couldn't read from {config}: {e}"))?;
    let mut ret = None;
    let mut lines = Vec::new();
    for line in text.split_inclusive('\n') {
        if line_matches(line, &criteria) == Some(true) {
            ret = Some("present");
            if line_matches(line, &all) == Some(true) {
                lines.push(line.to_string());
            } else {
                ret = Some("change");
                lines.push(entry_line.clone());
            }
        } else {
            lines.push(line.to_string());
        }
    }
    let ret = match ret {
        Some(r) => r,
        None => {
            lines.push(entry_line);
            "new"
        }
    };
    if ret != "present" && !test {
        brine_core::fsutil::write_atomic(
            std::path::Path::new(config),
            lines.concat().as_bytes(),
            None,
        )
        .map_err(|_| format!("File not writable {config}"))?;
    }
    Ok(ret)
}

/// `mount.rm_fstab`: drop the lines for `name` (and `device`, if given).
pub fn rm_fstab(name: &str, device: Option<&str>, config: &str) -> Result<bool, String> {
    let mut criteria = vec![(1usize, name.to_string())];
    if let Some(d) = device {
        criteria.insert(0, (0, d.to_string()));
    }
    let text =
        std::fs::read_to_string(config).map_err(|e| format!("Couldn't read from {config}: {e}"))?;
    let mut modified = false;
    let mut lines = Vec::new();
    for line in text.split_inclusive('\n') {
        if line_matches(line, &criteria) == Some(true) {
            modified = true;
        } else {
            lines.push(line);
        }
    }
    if modified {
        brine_core::fsutil::write_atomic(
            std::path::Path::new(config),
            lines.concat().as_bytes(),
            None,
        )
        .map_err(|e| format!("Couldn't write to {config}: {e}"))?;
    }
    Ok(true)
}

/// Run a `mount`/`umount` command line as Salt builds it (a string split
/// like shlex): `Ok(None)` on success, `Ok(Some(stderr))` on failure.
fn run_line(ctx: &Context, line: &str) -> Result<Option<String>, String> {
    let argv = shlex_split(line)?;
    let out = run_argv(ctx, &argv, false, false)?;
    Ok((out.retcode != 0).then_some(out.stderr))
}

/// `mount.mount`: true, or the error output.
pub fn mount(
    ctx: &Context,
    name: &str,
    device: Option<&str>,
    mkmnt: bool,
    fstype: &str,
    opts: &[String],
) -> Result<Value, String> {
    if !std::path::Path::new(name).exists() && mkmnt {
        std::fs::create_dir_all(name).map_err(|e| format!("Unable to create {name}: {e}"))?;
    }
    let mut args = format!("-o {}", opts.join(","));
    if !fstype.is_empty() {
        args.push_str(&format!(" -t {fstype}"));
    }
    let line = match device {
        Some(d) if !d.is_empty() => format!("mount {args} '{d}' '{name}' "),
        _ => format!("mount '{name}' "),
    };
    Ok(match run_line(ctx, &line)? {
        None => Value::Bool(true),
        Some(err) => Value::Str(err),
    })
}

/// `mount.remount`: `mount -o ...,remount`, or a plain mount when `name`
/// is not mounted.
pub fn remount(
    ctx: &Context,
    name: &str,
    device: &str,
    mkmnt: bool,
    fstype: &str,
    opts: &mut Vec<String>,
) -> Result<Value, String> {
    if active(ctx, false)?.contains_key(&v(name)) {
        if !opts.iter().any(|o| o == "remount") {
            opts.push("remount".into());
        }
        let mut args = if opts.is_empty() {
            String::new()
        } else {
            format!("-o {}", opts.join(","))
        };
        if !fstype.is_empty() {
            args.push_str(&format!(" -t {fstype}"));
        }
        return Ok(
            match run_line(ctx, &format!("mount {args} '{device}' '{name}' "))? {
                None => Value::Bool(true),
                Some(err) => Value::Str(err),
            },
        );
    }
    mount(ctx, name, Some(device), mkmnt, fstype, opts)
}

/// `mount.umount`: true, or a message.
pub fn umount(
    ctx: &Context,
    name: &str,
    device: Option<&str>,
    lazy: bool,
) -> Result<Value, String> {
    if !active(ctx, false)?.contains_key(&v(name)) {
        return Ok(Value::Str(format!("{name} does not have anything mounted")));
    }
    let mut line = String::from("umount");
    if lazy {
        line.push_str(" -l");
    }
    match device.filter(|d| !d.is_empty()) {
        Some(d) => line.push_str(&format!(" '{d}'")),
        None => line.push_str(&format!(" '{name}'")),
    }
    Ok(match run_line(ctx, &line)? {
        None => Value::Bool(true),
        Some(err) => Value::Str(err),
    })
}

fn cache_path(ctx: &Context) -> std::path::PathBuf {
    let dir = ctx
        .opts
        .get("cachedir")
        .and_then(Value::as_str)
        .unwrap_or("/var/cache/salt/minion");
    std::path::Path::new(dir).join("mounts")
}

fn read_cache(ctx: &Context) -> Map {
    std::fs::read_to_string(cache_path(ctx))
        .ok()
        .and_then(|t| brine_core::yaml::safe_load(&t).ok())
        .and_then(|v| v.as_map().cloned())
        .unwrap_or_default()
}

fn write_cache(ctx: &Context, cache: Map) -> Result<(), String> {
    let text = Value::Map(cache).to_json().to_string();
    let path = cache_path(ctx);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    brine_core::fsutil::write_atomic(&path, text.as_bytes(), None)
        .map_err(|_| "Unable to write mount cache.".to_string())
}

/// `mount.read_mount_cache`.
pub fn read_mount_cache(ctx: &Context, name: &str) -> Map {
    read_cache(ctx)
        .get(&v("mounts"))
        .and_then(|m| m.as_map())
        .and_then(|m| m.get(&v(name)))
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default()
}

/// `mount.write_mount_cache`.
pub fn write_mount_cache(
    ctx: &Context,
    real_name: &str,
    device: &str,
    mkmnt: bool,
    fstype: &str,
    opts: &[String],
) -> Result<(), String> {
    let mut cache = read_cache(ctx);
    let mounts = cache.entry(v("mounts")).or_insert_with(Value::map);
    if !matches!(mounts, Value::Map(_)) {
        *mounts = Value::map();
    }
    if let Value::Map(m) = mounts {
        let mut e = Map::default();
        e.insert(v("device"), v(device));
        e.insert(v("fstype"), v(fstype));
        e.insert(v("mkmnt"), Value::Bool(mkmnt));
        e.insert(v("opts"), str_list(opts));
        m.insert(v(real_name), Value::Map(e));
    }
    write_cache(ctx, cache)
}

/// `mount.delete_mount_cache`.
pub fn delete_mount_cache(ctx: &Context, real_name: &str) -> Result<(), String> {
    let mut cache = read_cache(ctx);
    let removed = cache
        .get_mut(&v("mounts"))
        .and_then(Value::as_map_mut)
        .and_then(|m| m.shift_remove(&v(real_name)))
        .is_some();
    if removed {
        write_cache(ctx, cache)?;
    }
    Ok(())
}

/// Options as a list: a list as is, a string split on commas.
pub fn opts_list(opts: &Value) -> Vec<String> {
    match opts {
        Value::List(l) => l.iter().map(str_of).collect(),
        Value::Null => Vec::new(),
        other => str_of(other).split(',').map(str::to_string).collect(),
    }
}

fn active_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("mount.active", &["extended"], 0, false, false, args, kwargs)?;
    active(ctx, b.opt(0).is_some_and(Value::truthy)).map(Value::Map)
}

fn fstab_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("mount.fstab", &["config"], 0, false, false, args, kwargs)?;
    let config = b.str(0).unwrap_or_else(|| "/etc/fstab".into());
    Ok(Value::Map(fstab(&config)))
}

fn set_fstab_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "mount.set_fstab",
        &[
            "name",
            "device",
            "fstype",
            "opts",
            "dump",
            "pass_num",
            "config",
            "test",
            "match_on",
            "not_change",
        ],
        3,
        false,
        true,
        args,
        kwargs,
    )?;
    let e = FstabEntry {
        name: str_of(&b.get(0, Value::Null)),
        device: str_of(&b.get(1, Value::Null)),
        fstype: str_of(&b.get(2, Value::Null)),
        opts: opts_list(&b.get(3, v("defaults"))).join(","),
        dump: str_of(&b.get(4, Value::Int(0))),
        pass_num: str_of(&b.get(5, Value::Int(0))),
    };
    let config = b.str(6).unwrap_or_else(|| "/etc/fstab".into());
    let match_on = match b.get(8, v("auto")) {
        Value::List(l) => l.iter().map(str_of).collect(),
        Value::Str(s) => vec![s],
        _ => return Err("match_on must be a string or list of strings".into()),
    };
    let test = b.opt(7).is_some_and(Value::truthy);
    set_fstab(&e, &config, test, &match_on).map(Value::from)
}

fn rm_fstab_fn(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "mount.rm_fstab",
        &["name", "device", "config"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let config = b.str(2).unwrap_or_else(|| "/etc/fstab".into());
    let device = b.str(1);
    rm_fstab(&str_of(&b.get(0, Value::Null)), device.as_deref(), &config).map(Value::Bool)
}

fn mount_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "mount.mount",
        &["name", "device", "mkmnt", "fstype", "opts", "user", "util"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let device = b.opt(1).filter(|d| d.truthy()).map(str_of);
    let fstype = b.str(3).unwrap_or_default();
    let opts = opts_list(&b.get(4, v("defaults")));
    mount(
        ctx,
        &str_of(&b.get(0, Value::Null)),
        device.as_deref(),
        b.opt(2).is_some_and(Value::truthy),
        &fstype,
        &opts,
    )
}

fn umount_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "mount.umount",
        &["name", "device", "user", "util", "lazy"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let device = b.str(1);
    umount(
        ctx,
        &str_of(&b.get(0, Value::Null)),
        device.as_deref(),
        b.opt(4).is_some_and(Value::truthy),
    )
}

fn remount_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "mount.remount",
        &["name", "device", "mkmnt", "fstype", "opts", "user"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let mut opts = opts_list(&b.get(4, v("defaults")));
    remount(
        ctx,
        &str_of(&b.get(0, Value::Null)),
        &str_of(&b.get(1, Value::Null)),
        b.opt(2).is_some_and(Value::truthy),
        &b.str(3).unwrap_or_default(),
        &mut opts,
    )
}

fn is_mounted_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("mount.is_mounted", &["name"], 1, false, false, args, kwargs)?;
    let name = str_of(&b.get(0, Value::Null));
    Ok(Value::Bool(active(ctx, false)?.contains_key(&v(&name))))
}
