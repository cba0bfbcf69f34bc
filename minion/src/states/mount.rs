//! `mount` states (salt/states/mount.py, Linux): `mounted` (mount now,
//! remount on changed options, persist in fstab) and `unmounted`.

use super::{Ret, StateCall, StateFunction};
use crate::modules::mount as m;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "mounted",
        fun: mounted,
        required: &["name", "device", "fstype"],
        params: None,
    },
    StateFunction {
        name: "unmounted",
        fun: unmounted,
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

/// `mount.mod_watch`: remount a `mounted` state when a watched state
/// changed. As in Salt, an error string from the remount still counts as
/// "remounted" (it is truthy there).
fn mod_watch(call: &StateCall) -> Result<Ret, String> {
    let name = call.opt_str("name")?.unwrap_or_default();
    let ret = Ret::new(name.as_str());
    let sfun = call.opt_str("sfun")?.unwrap_or_default();
    if sfun != "mounted" {
        return Ok(ret.with(
            Some(true),
            format!("Watch not supported in {sfun} at this time"),
        ));
    }
    let device = call.opt_str("device")?.unwrap_or_default();
    let fstype = call.opt_str("fstype")?.unwrap_or_default();
    let mut opts: Vec<String> = match call.get("opts") {
        None => vec!["defaults".into()],
        Some(Value::List(l)) => l.iter().map(str_of).collect(),
        Some(Value::Str(s)) => s.split(',').map(str::to_string).collect(),
        Some(other) => return Err(call.type_error("opts", "a string or a list", other)),
    };
    let out = m::remount(call.ctx, &name, &device, false, &fstype, &mut opts)?;
    Ok(if out.truthy() {
        ret.with(Some(true), format!("{name} remounted"))
    } else {
        ret.with(
            Some(false),
            format!("{name} failed to remount: {}", str_of(&out)),
        )
    })
}

const INVISIBLE_OPTS: &[&str] = &[
    "_netdev",
    "actimeo",
    "bg",
    "comment",
    "defaults",
    "delay_connect",
    "direct-io-mode",
    "intr",
    "loop",
    "nointr",
    "nobootwait",
    "nofail",
    "password",
    "reconnect",
    "retry",
    "soft",
    "auto",
    "users",
    "bind",
    "nonempty",
    "transform_symlinks",
    "port",
    "backup-volfile-servers",
];

const INVISIBLE_KEYS: &[&str] = &[
    "actimeo",
    "comment",
    "credentials",
    "direct-io-mode",
    "password",
    "port",
    "retry",
    "secretfile",
];

fn v(s: &str) -> Value {
    Value::from(s)
}

/// `size=<n><k|m|g>` as kibibytes (`size=<n>k`), Salt's `_size_convert`.
fn size_kib(opt: &str) -> Option<String> {
    let rest = opt.strip_prefix("size=")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let unit = rest[digits.len()..].chars().next()?;
    let n: u128 = digits.parse().ok()?;
    let k = match unit {
        'k' => n,
        'm' => n * 1024,
        'g' => n * 1024 * 1024,
        _ => return None,
    };
    Some(format!("size={k}k"))
}

fn list_of(call: &StateCall, key: &str) -> Result<Vec<String>, String> {
    Ok(call
        .opt_list(key)?
        .map(|l| l.iter().map(str_of).collect())
        .unwrap_or_default())
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_list)
        .map(|l| l.iter().map(str_of).collect())
        .unwrap_or_default()
}

fn realpath(p: &str) -> String {
    std::fs::canonicalize(p)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| p.to_string())
}

fn mounted(call: &StateCall) -> Result<Ret, String> {
    let ctx = call.ctx;
    let mut name = call.opt_str("name")?.unwrap_or_default();
    let device = call.opt_str("device")?.unwrap_or_default();
    let fstype = call.opt_str("fstype")?.unwrap_or_default();
    let mut ret = Ret::new(name.as_str());
    if name.is_empty() {
        return Ok(ret.with(Some(false), "Must provide name to mount.mounted"));
    }
    if device.is_empty() {
        return Ok(ret.with(Some(false), "Must provide device to mount.mounted"));
    }
    if fstype.is_empty() {
        return Ok(ret.with(Some(false), "Must provide fstype to mount.mounted"));
    }
    let mkmnt = call.bool_or("mkmnt", false)?;
    let mut opts: Vec<String> = match call.get("opts") {
        None => vec!["defaults".into()],
        Some(Value::List(l)) => l.iter().map(str_of).collect(),
        Some(Value::Str(s)) => s.split(',').map(str::to_string).collect(),
        Some(other) => return Err(call.type_error("opts", "a string or a list", other)),
    };
    let dump = call.opt_int("dump")?.unwrap_or(0);
    let pass_num = call.opt_int("pass_num")?.unwrap_or(0);
    let config = call
        .opt_str("config")?
        .unwrap_or_else(|| "/etc/fstab".into());
    let persist = call.bool_or("persist", true)?;
    let do_mount = call.bool_or("mount", true)?;
    let match_on: Vec<String> = match call.get("match_on") {
        None => vec!["auto".into()],
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::List(l)) => l.iter().map(str_of).collect(),
        Some(other) => return Err(call.type_error("match_on", "a string or a list", other)),
    };
    let regexes = list_of(call, "device_name_regex")?;
    let mut invisible: Vec<String> = INVISIBLE_OPTS.iter().map(|s| s.to_string()).collect();
    invisible.extend(list_of(call, "extra_mount_invisible_options")?);
    invisible.extend(match call.get("hidden_opts") {
        Some(Value::Str(s)) => s.split(',').map(str::to_string).collect(),
        _ => list_of(call, "hidden_opts")?,
    });
    let mut invisible_keys: Vec<String> = INVISIBLE_KEYS.iter().map(|s| s.to_string()).collect();
    invisible_keys.extend(list_of(call, "extra_mount_invisible_keys")?);
    let mut ignore_fs_keys: Map = Map::default();
    ignore_fs_keys.insert(v("ramfs"), Value::List(vec![v("size")]));
    if let Some(extra) = call.opt_map("extra_mount_ignore_fs_keys")? {
        ignore_fs_keys.extend(extra);
    }
    let ignored: Vec<String> = strs(ignore_fs_keys.get(&v(&fstype)));
    let mut translate: Map = Map::default();
    translate.insert(v("tcp"), v("proto=tcp"));
    translate.insert(v("udp"), v("proto=udp"));
    if let Some(extra) = call.opt_map("extra_mount_translate_options")? {
        translate.extend(extra);
    }
    let copy_active = call.bool_or("bind_mount_copy_active_opts", true)?;

    let mut update_cache = false;
    if name != "/" {
        name = name.trim_end_matches('/').to_string();
    }
    let mut device_list: Vec<String> = Vec::new();
    let mut active = m::active(ctx, true)?;
    let real_name = realpath(&name);
    let comp_real_name = real_name.replace(' ', "\\040");
    let key = v(&comp_real_name);
    let mut real_device: String;
    if device.starts_with('/') {
        if opts.iter().any(|o| o == "bind") && active.contains_key(&key) {
            let mut dev = device.replace(' ', "\\040");
            let cur_dev = active
                .get(&key)
                .and_then(|a| a.get("device"))
                .map(str_of)
                .unwrap_or_default();
            let add_opts = |opts: &mut Vec<String>, a: &Value| {
                if copy_active {
                    let mut set: std::collections::BTreeSet<String> =
                        opts.iter().cloned().collect();
                    set.extend(strs(a.get("opts")));
                    set.extend(strs(a.get("superopts")));
                    *opts = set.into_iter().collect();
                }
            };
            if cur_dev.starts_with('/') {
                loop {
                    if let Some(a) = active.get(&v(&dev)).cloned() {
                        real_device = str_of(a.get("device").unwrap_or(&Value::Null));
                        add_opts(&mut opts, &a);
                        break;
                    }
                    let un = dev.replace("\\040", " ");
                    let parent = std::path::Path::new(&un)
                        .parent()
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if parent == dev || parent.is_empty() {
                        real_device = device.clone();
                        break;
                    }
                    dev = parent;
                }
            } else {
                if let Some(a) = active.get(&v(&dev)).cloned() {
                    add_opts(&mut opts, &a);
                }
                real_device = cur_dev;
            }
            if let Some(Value::Map(a)) = active.get_mut(&key) {
                if let Some(Value::List(o)) = a.get_mut(&v("opts")) {
                    o.push(v("bind"));
                }
            }
        } else {
            real_device = realpath(&device);
        }
    } else if device.to_uppercase().starts_with("UUID=") {
        real_device = device
            .split('=')
            .nth(1)
            .unwrap_or("")
            .trim_matches('"')
            .to_lowercase();
    } else if device.to_uppercase().starts_with("LABEL=") {
        let label = device.split('=').nth(1).unwrap_or("");
        let argv = crate::modules::cmd::shlex_split(&format!("blkid -t LABEL={label}"))?;
        let res = crate::modules::user::run_argv(ctx, &argv, false, false)?;
        if res.retcode > 0 {
            return Ok(ret.with(
                Some(false),
                format!("Unable to find device with label {label}."),
            ));
        }
        // Salt iterates the output's characters here: each "device" is one
        // character of it.
        for c in res.stdout.chars() {
            device_list.push(c.to_string());
        }
        real_device = device_list.first().cloned().unwrap_or_default();
    } else {
        real_device = device.clone();
    }
    if let Some(rest) = device.strip_prefix("/dev/") {
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() == 2 && !parts[0].is_empty() && !parts[1].is_empty() {
            let mapper = format!(
                "/dev/mapper/{}-{}",
                parts[0].replace('-', "--"),
                parts[1].replace('-', "--")
            );
            if std::path::Path::new(&mapper).exists() {
                real_device = mapper;
            }
        }
    }
    if let Some(hash) = device.find('#') {
        let head = &device[..hash];
        if !head.is_empty()
            && head.chars().all(|c| c.is_alphanumeric() || c == '_')
            && hash + 1 < device.len()
        {
            real_device = device[hash + 1..].to_string();
        }
    }

    if let Some(cur) = active.get(&key).cloned() {
        if do_mount {
            let cur_dev = cur.get("device").map(str_of).unwrap_or_default();
            device_list.push(cur_dev);
            let first = device_list[0].clone();
            device_list.push(realpath(&first));
            for k in ["alt_device", "device_uuid", "device_label"] {
                if let Some(d) = cur.get(k).filter(|d| d.truthy()).map(str_of) {
                    if !device_list.contains(&d) {
                        device_list.push(d);
                    }
                }
            }
            let cur_opts = strs(cur.get("opts"));
            let mut superopts = strs(cur.get("superopts"));
            if !opts.is_empty() {
                let mut trigger: Vec<String> = Vec::new();
                // Salt's loop variable, which its later message reuses.
                let mut last_opt = String::new();
                for opt in &opts {
                    let mut opt = opt.clone();
                    if let Some(t) = translate.get(&v(&opt)) {
                        opt = str_of(t);
                    }
                    let keyval = opt.split('=').next().unwrap_or("").to_string();
                    if invisible_keys.contains(&keyval) {
                        opt = keyval.clone();
                    }
                    if let Some(s) = size_kib(&opt) {
                        opt = s;
                    }
                    if fstype == "cifs" && keyval == "user" {
                        opt = format!("username={}", opt.split('=').nth(1).unwrap_or(""));
                    }
                    if ignored.contains(&opt.split('=').next().unwrap_or("").to_string()) {
                        opt = opt.split('=').next().unwrap_or("").to_string();
                    }
                    let parts: Vec<&str> = opt.split('=').collect();
                    if (parts[0] == "uid" || parts[0] == "gid") && parts.len() > 1 {
                        let given = parts[1];
                        let mut id = given.to_string();
                        if given.is_empty() || !given.chars().all(|c| c.is_ascii_digit()) {
                            let found = if parts[0] == "uid" {
                                crate::modules::user::getpwnam(given).map(|p| p.uid)
                            } else {
                                crate::modules::group::getgrnam(given).map(|g| g.gid)
                            };
                            if let Some(n) = found {
                                id = n.to_string();
                            }
                        }
                        opt = format!("{}={id}", parts[0]);
                    }
                    let sizes: Vec<(usize, String)> = superopts
                        .iter()
                        .enumerate()
                        .filter_map(|(i, o)| size_kib(o).map(|s| (i, s)))
                        .collect();
                    for (i, s) in sizes.into_iter().rev() {
                        opt = s.clone();
                        superopts.remove(i);
                        superopts.push(s);
                    }
                    if !cur_opts.contains(&opt)
                        && !superopts.contains(&opt)
                        && !invisible.contains(&opt)
                        && !ignored.contains(&opt)
                        && !invisible_keys.contains(&opt)
                    {
                        trigger.push(opt.clone());
                    }
                    last_opt = opt;
                }
                if !trigger.is_empty() {
                    trigger.sort();
                    let list = trigger.join(",");
                    if call.test {
                        return Ok(ret.with(
                            None,
                            format!("Remount would be forced because options ({list}) changed"),
                        ));
                    }
                    remount_or_remount(
                        call, &mut ret, &real_name, &device, mkmnt, &fstype, &mut opts, &list,
                    )?;
                    if ret.result == Some(false) && ret.comment != Value::from("") {
                        return Ok(ret);
                    }
                    update_cache = true;
                }
                let cache = m::read_mount_cache(ctx, &real_name);
                if let Some(cached) = cache.get(&v("opts")) {
                    let missing: Vec<String> = strs(Some(cached))
                        .into_iter()
                        .filter(|o| !opts.contains(o))
                        .collect();
                    if !missing.is_empty() {
                        if call.test {
                            return Ok(ret.with(
                                None,
                                format!(
                                    "Remount would be forced because options ({})changed",
                                    missing.join(",")
                                ),
                            ));
                        }
                        remount_or_remount(
                            call, &mut ret, &real_name, &device, mkmnt, &fstype, &mut opts,
                            &last_opt,
                        )?;
                        if ret.result == Some(false) && ret.comment != Value::from("") {
                            return Ok(ret);
                        }
                        update_cache = true;
                    }
                } else {
                    update_cache = true;
                }
            }
            if !device_list.contains(&real_device) {
                let ignored_by = regexes.iter().find_map(|r| {
                    let re = regex::Regex::new(&format!("^(?:{r})")).ok()?;
                    device_list.iter().find(|d| re.is_match(d)).cloned()
                });
                if let Some(d) = ignored_by {
                    ret = ret.with(
                        Some(true),
                        format!("An umount will not be forced because device matched device_name_regex: {d}"),
                    );
                } else if call.test {
                    return Ok(ret.with(
                        None,
                        format!("An umount would have been forced because devices do not match.  Watched: {device}"),
                    ));
                } else {
                    let mut msg =
                        format!("Forced unmount because devices don't match. Wanted: {device}");
                    if real_device != device {
                        msg.push_str(&format!(" ({real_device})"));
                    }
                    msg.push_str(&format!(", current: {}", device_list.join(", ")));
                    ret.change("umount", msg);
                    m::umount(ctx, &real_name, None, false)?;
                    active = m::active(ctx, true)?;
                    if active.contains_key(&key) {
                        return Ok(ret.with(Some(false), "Unable to unmount"));
                    }
                    update_cache = true;
                }
            } else {
                ret.comment = v("Target was already mounted");
            }
        }
    }
    if !active.contains_key(&key) {
        let exists = std::path::Path::new(&name).exists();
        if do_mount {
            if call.test {
                let c = if exists {
                    format!("{name} would be mounted")
                } else if mkmnt {
                    format!("{name} would be created and mounted")
                } else {
                    format!("{name} does not exist and would not be created")
                };
                return Ok(ret.with(None, c));
            }
            if !exists && !mkmnt {
                return Ok(ret.with(Some(false), "Mount directory is not present"));
            }
            let out = m::mount(ctx, &name, Some(&device), mkmnt, &fstype, &opts)?;
            active = m::active(ctx, true)?;
            update_cache = true;
            if let Value::Str(err) = out {
                return Ok(ret.with(Some(false), err));
            }
            if active.contains_key(&key) {
                ret.comment = v("Target was successfully mounted");
                ret.change("mount", true);
            }
        } else if !exists {
            if call.test {
                ret.result = None;
                ret.comment = Value::Str(if mkmnt {
                    format!("{name} would be created, but not mounted")
                } else {
                    format!("{name} does not exist and would neither be created nor mounted")
                });
            } else if mkmnt {
                std::fs::create_dir_all(&name)
                    .map_err(|e| format!("Unable to create {name}: {e}"))?;
                ret.comment = Value::Str(format!("{name} was created, not mounted"));
            } else {
                ret.comment = Value::Str(format!("{name} not present and not mounted"));
            }
        } else if call.test {
            ret.comment = Value::Str(format!("{name} would not be mounted"));
        } else {
            ret.comment = Value::Str(format!("{name} not mounted"));
        }
    }
    if persist {
        let entry = m::FstabEntry {
            name: name.clone(),
            device: device.clone(),
            fstype: fstype.clone(),
            opts: opts.join(","),
            dump: dump.to_string(),
            pass_num: pass_num.to_string(),
        };
        let comment = str_of(&ret.comment);
        if call.test {
            let out = m::set_fstab(&entry, &config, true, &match_on)?;
            if out != "present" {
                ret.result = None;
                let c = match (out, do_mount) {
                    ("new", true) => format!("{name} is mounted, but needs to be written to the fstab in order to be made persistent."),
                    ("new", false) => format!("{name} needs to be written to the fstab in order to be made persistent."),
                    (_, true) => format!("{name} is mounted, but its fstab entry must be updated."),
                    (_, false) => format!("The {name} fstab entry must be updated."),
                };
                ret.comment = Value::Str(format!("{comment}. {c}"));
                return Ok(ret);
            }
        } else {
            // A missing config file is an error (a traceback in Salt, whose
            // "fstab was not found" branch is unreachable).
            let out = m::set_fstab(&entry, &config, false, &match_on)?;
            if update_cache {
                m::write_mount_cache(ctx, &real_name, &device, mkmnt, &fstype, &opts)?;
            }
            let suffix = match out {
                "present" => ". Entry already exists in the fstab.",
                "new" => {
                    ret.change("persist", "new");
                    ". Added new entry to the fstab."
                }
                "change" => {
                    ret.change("persist", "update");
                    ". Updated the entry in the fstab."
                }
                _ => {
                    ret.result = Some(false);
                    ". However, the fstab was not found."
                }
            };
            ret.comment = Value::Str(format!("{comment}{suffix}"));
        }
    }
    Ok(ret)
}

/// The forced remount of `mounted` (umount + mount for nfs/cvfs/fuse).
#[allow(clippy::too_many_arguments)]
fn remount_or_remount(
    call: &StateCall,
    ret: &mut Ret,
    real_name: &str,
    device: &str,
    mkmnt: bool,
    fstype: &str,
    opts: &mut Vec<String>,
    list: &str,
) -> Result<(), String> {
    let ctx = call.ctx;
    if fstype == "nfs" || fstype == "cvfs" || fstype.starts_with("fuse") {
        ret.change(
            "umount",
            format!("Forced unmount and mount because options ({list}) changed"),
        );
        let mut out = m::umount(ctx, real_name, None, false)?;
        if out != Value::Bool(true) {
            ret.change(
                "umount",
                format!("Forced a lazy unmount and mount because the previous unmount failed and because the options ({list}) changed"),
            );
            out = m::umount(ctx, real_name, None, true)?;
            if out != Value::Bool(true) {
                ret.result = Some(false);
                ret.comment =
                    Value::Str(format!("Unable to unmount {real_name}: {}.", str_of(&out)));
                return Ok(());
            }
        }
        let r = m::mount(ctx, real_name, Some(device), mkmnt, fstype, opts)?;
        ret.result = Some(r == Value::Bool(true));
    } else {
        ret.change(
            "umount",
            format!("Forced remount because options ({list}) changed"),
        );
        let r = m::remount(ctx, real_name, device, mkmnt, fstype, opts)?;
        // Salt stores the remount's result (True or an error string).
        ret.result = Some(r == Value::Bool(true));
        opts.retain(|o| o != "remount");
    }
    Ok(())
}

fn unmounted(call: &StateCall) -> Result<Ret, String> {
    let ctx = call.ctx;
    let name = call.opt_str("name")?.unwrap_or_default();
    let device = call.opt_str("device")?;
    let config = call
        .opt_str("config")?
        .unwrap_or_else(|| "/etc/fstab".into());
    let persist = call.bool_or("persist", false)?;
    let mut ret = Ret::new(name.as_str());
    if name.is_empty() {
        return Ok(ret.with(Some(false), "Must provide name to mount.unmounted"));
    }
    let active = m::active(ctx, true)?;
    let comp = name.replace(' ', "\\040");
    let mut update_cache = false;
    if !active.contains_key(&v(&comp)) {
        ret.comment = v("Target was already unmounted");
    } else {
        if call.test {
            return Ok(ret.with(
                None,
                format!("Mount point {name} is mounted but should not be"),
            ));
        }
        let out = m::umount(ctx, &name, device.as_deref(), false)?;
        update_cache = true;
        match out {
            Value::Str(s) => {
                ret = ret.with(Some(false), s);
            }
            Value::Bool(true) => {
                ret.comment = v("Target was successfully unmounted");
                ret.change("umount", true);
            }
            _ => {
                ret = ret.with(Some(true), "Execute set to False, Target was not unmounted");
            }
        }
    }
    if update_cache {
        m::delete_mount_cache(ctx, &name)?;
    }
    if persist {
        let data = m::fstab(&config);
        let comment = str_of(&ret.comment);
        match data.get(&v(&name)) {
            None => ret.comment = Value::Str(format!("{comment}. fstab entry not found")),
            Some(entry) => {
                if let Some(d) = &device {
                    if entry.get("device").map(str_of).as_deref() != Some(d.as_str()) {
                        ret.comment =
                            Value::Str(format!("{comment}. fstab entry for device {d} not found"));
                        return Ok(ret);
                    }
                }
                if call.test {
                    return Ok(ret.with(
                        None,
                        format!("Mount point {name} is unmounted but needs to be purged from {config} to be made persistent"),
                    ));
                }
                match m::rm_fstab(&name, device.as_deref(), &config) {
                    Ok(true) => {
                        ret.comment = Value::Str(format!("{comment}. Removed target from fstab"));
                        ret.change("persist", "purged");
                    }
                    _ => {
                        ret.result = Some(false);
                        ret.comment = Value::Str(format!("{comment}. Failed to persist purge"));
                    }
                }
            }
        }
    }
    Ok(ret)
}
