//! Core grains computed from this machine, equal to what Salt 3007.8 reports
//! on Linux (`salt/grains/core.py` plus the always-loaded modules `disks`,
//! `extra`, `lvm`, `mdadm`, `minion_process`, `package` and `zfs`).
//!
//! Keys are inserted in Salt's order: the core grain functions run in
//! alphabetical order of their names, then the other grain modules in
//! alphabetical order; a later `dict.update` keeps the first position of a
//! key. A file or command that is missing skips its grain, as in Salt;
//! nothing here panics on machine data.
//!
//! Python-specific grains (`pythonexecutable`, `pythonpath`, `pythonversion`,
//! `saltpath`, `zmqversion`) are not produced; `saltversion` and
//! `saltversioninfo` report Brine's compatibility level, 3007.8.

pub mod hw;
pub mod net;
pub mod netlink;
pub mod os;
pub mod sys;

use brine_core::{Map, Value};
use std::path::Path;

/// The Salt release Brine is compatible with.
pub const SALT_VERSION: &str = "3007.8";
pub const SALT_VERSION_INFO: [i128; 2] = [3007, 8];

/// Insert a string-keyed grain, keeping an existing key's position.
pub(crate) fn set(m: &mut Map, key: &str, v: Value) {
    m.insert(Value::str(key), v);
}

fn update(dst: &mut Map, src: Map) {
    for (k, v) in src {
        dst.insert(k, v);
    }
}

fn opt<'a>(opts: &'a Value, key: &str) -> Option<&'a Value> {
    opts.get(key)
}

fn opt_bool(opts: &Value, key: &str, default: bool) -> bool {
    match opt(opts, key) {
        Some(Value::Bool(b)) => *b,
        Some(v) if !v.is_null() => v.truthy(),
        _ => default,
    }
}

fn str_list(v: Vec<String>) -> Value {
    Value::List(v.into_iter().map(Value::Str).collect())
}

/// Start, in the background, the commands the grain collectors will run
/// (`ip`, `systemctl --version`, `dpkg`, `systemd-detect-virt`/`virt-what`),
/// so that they run in parallel with each other and with whatever the caller
/// does meanwhile. Output is identical: the collectors still decide which
/// command to run and parse it the same way; see [`sys::prefetch`].
pub fn prefetch() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(prefetch_now);
}

/// The FQDN and its forward look-ups (`fqdn`, `fqdn_ip4`, `fqdn_ip6`):
/// `net::fqhostname` first, then the IPv4 and IPv6 look-ups side by side.
type FqdnLookup = (String, Vec<String>, Vec<String>);

fn lookup_fqdn() -> FqdnLookup {
    let fqdn = net::fqhostname();
    let name = fqdn.clone();
    let v6 = std::thread::spawn(move || net::fqdn_ips(&name, true));
    let v4 = net::fqdn_ips(&fqdn, false);
    let v6 = v6.join().unwrap_or_default();
    (fqdn, v4, v6)
}

/// The look-up [`prefetch`] started, for the first grains collection.
static FQDN_LOOKUP: std::sync::Mutex<Option<std::thread::JoinHandle<FqdnLookup>>> =
    std::sync::Mutex::new(None);

fn prefetch_now() {
    // Name resolution depends on no option: start it before the
    // configuration is even read.
    if let Ok(mut l) = FQDN_LOOKUP.lock() {
        *l = Some(std::thread::spawn(lookup_fqdn));
    }
    let mut cmds: Vec<(String, Vec<String>, bool)> = Vec::new();
    let mut add = |prog: Option<std::path::PathBuf>, args: &[&str], m: bool| {
        if let Some(p) = prog {
            cmds.push((
                p.to_string_lossy().into_owned(),
                args.iter().map(|a| a.to_string()).collect(),
                m,
            ));
        }
    };
    // Outputs kept by `sys::run_cached` need no child process at all.
    let mut add_uncached = |prog: Option<std::path::PathBuf>, args: &[&str], m: bool, boot| {
        let cached = prog
            .as_ref()
            .is_some_and(|p| sys::is_cached(&p.to_string_lossy(), args, m, boot));
        if !cached {
            add(prog, args, m);
        }
    };
    if has_bin("localectl") {
        add_uncached(sys::which("systemctl"), &["--version"], false, false);
    }
    add_uncached(sys::which("dpkg"), &["--print-architecture"], true, false);
    match sys::which("virt-what") {
        Some(vw) => add_uncached(Some(vw), &[], false, true),
        None => add_uncached(sys::which("systemd-detect-virt"), &[], false, true),
    }
    sys::prefetch(cmds);
}

/// All core grains of this machine (without static grains from config).
pub fn core_grains(opts: &Value) -> Map {
    let mut g = Map::default();
    // Name resolution is slow: run it alongside the other collectors.
    // The fqdn's forward look-ups (`fqdn_ip4`, `fqdn_ip6`) follow it at
    // once, each on its own thread; they are dropped below when the
    // machine has no address of that family (Salt skips them then).
    let started = FQDN_LOOKUP.lock().ok().and_then(|mut l| l.take());
    let fqdn_thread = started.unwrap_or_else(|| std::thread::spawn(lookup_fqdn));
    let ifaces = net::interfaces();
    let fqdns_thread = if opt_bool(opts, "enable_fqdns_grains", true) {
        let ifaces = ifaces.clone();
        Some(std::thread::spawn(move || net::fqdns(&ifaces)))
    } else {
        None
    };

    // append_domain
    if let Some(ad) = opt(opts, "append_domain") {
        set(&mut g, "append_domain", ad.clone());
    }
    // cwd
    if let Ok(cwd) = std::env::current_dir() {
        set(&mut g, "cwd", Value::str(cwd.to_string_lossy()));
    }
    // default_gateway
    if let Some(gw) = net::default_gateway() {
        update(&mut g, gw);
    }
    // dns
    if let Some(d) = net::dns() {
        set(&mut g, "dns", Value::Map(d));
    }
    // fqdns
    let fq = fqdns_thread.and_then(|t| t.join().ok()).unwrap_or_default();
    set(&mut g, "fqdns", str_list(fq));
    // get_machine_id
    for loc in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
        if Path::new(loc).exists() {
            if let Ok(text) = std::fs::read_to_string(loc) {
                set(&mut g, "machine_id", Value::str(text.trim()));
            }
            break;
        }
    }
    // get_master
    let master = opt(opts, "master").cloned().unwrap_or(Value::str("salt"));
    set(&mut g, "master", master);
    // get_server_id
    let id = opt(opts, "id")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    set(&mut g, "server_id", Value::Int(server_id(&id)));
    // hostname
    let (fqdn, lookup_ip4, lookup_ip6) = fqdn_thread.join().unwrap_or_else(|_| {
        let fqdn = net::fqhostname();
        let v4 = net::fqdn_ips(&fqdn, false);
        let v6 = net::fqdn_ips(&fqdn, true);
        (fqdn, v4, v6)
    });
    set(&mut g, "localhost", Value::str(sys::gethostname()));
    set(&mut g, "fqdn", Value::str(fqdn.clone()));
    let (host, domain) = fqdn.split_once('.').unwrap_or((fqdn.as_str(), ""));
    set(&mut g, "host", Value::str(host));
    set(&mut g, "domain", Value::str(domain));
    // hwaddr_interfaces
    set(
        &mut g,
        "hwaddr_interfaces",
        net::interface_grains(&ifaces, "hwaddr"),
    );
    // id_
    set(&mut g, "id", Value::str(id.clone()));
    // ip4_interfaces, ip6_interfaces
    set(
        &mut g,
        "ip4_interfaces",
        net::interface_grains(&ifaces, "ip4"),
    );
    set(
        &mut g,
        "ip6_interfaces",
        net::interface_grains(&ifaces, "ip6"),
    );
    // ip_fqdn
    let ipv4 = net::ip_addrs(&ifaces, false, true);
    let ipv6 = net::ip_addrs(&ifaces, true, true);
    let fqdn_ip4 = if ipv4.is_empty() {
        Vec::new()
    } else {
        lookup_ip4
    };
    let fqdn_ip6 = if ipv6.is_empty() {
        Vec::new()
    } else {
        lookup_ip6
    };
    set(&mut g, "ipv4", str_list(ipv4));
    set(&mut g, "ipv6", str_list(ipv6));
    set(&mut g, "fqdn_ip4", str_list(fqdn_ip4));
    set(&mut g, "fqdn_ip6", str_list(fqdn_ip6));
    // ip_interfaces
    set(
        &mut g,
        "ip_interfaces",
        net::interface_grains(&ifaces, "ip"),
    );
    // kernelparams
    if let Some(kp) = kernelparams() {
        set(&mut g, "kernelparams", kp);
    }
    // locale_info
    set(&mut g, "locale_info", Value::Map(locale_info()));
    // os_data
    update(&mut g, os_data());
    // path
    let path = std::env::var("PATH").unwrap_or_default();
    let path = path.trim().to_string();
    set(&mut g, "path", Value::str(path.clone()));
    set(
        &mut g,
        "systempath",
        str_list(path.split(':').map(str::to_string).collect()),
    );
    // saltversion, saltversioninfo
    set(&mut g, "saltversion", Value::str(SALT_VERSION));
    set(
        &mut g,
        "saltversioninfo",
        Value::List(SALT_VERSION_INFO.iter().map(|i| Value::Int(*i)).collect()),
    );
    g
}

/// `server_id`: SHA-256 of the minion id, modulo 2**31.
pub fn server_id(id: &str) -> i128 {
    let digest = brine_core::jinja::hashes::sha256(id.as_bytes());
    // (big-endian 256-bit integer) mod 2^31 == its low 31 bits
    let low = u32::from_be_bytes([digest[28], digest[29], digest[30], digest[31]]);
    (low & 0x7fff_ffff) as i128
}

fn kernelparams() -> Option<Value> {
    let bytes = std::fs::read("/proc/cmdline").ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let items = crate::modules::cmd::shlex_split(&text).ok()?;
    let mut out = Vec::new();
    for item in items {
        let data: Vec<&str> = item.split('=').collect();
        let value = if data.len() == 2 {
            Value::str(data[1].trim_matches('"'))
        } else {
            Value::Null
        };
        out.push(Value::List(vec![Value::str(data[0]), value]));
    }
    Some(Value::List(out))
}

/// `locale_info`: Python's `locale.getlocale()` view of LC_CTYPE, the
/// detected encoding, and the timezone ("unknown": Salt's Python has no
/// dateutil).
fn locale_info() -> Map {
    let env = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    let base = env.split('@').next().unwrap_or("").to_string();
    let (lang, enc) = match base.as_str() {
        "" | "C" | "POSIX" => ("en_US".to_string(), "UTF-8".to_string()),
        _ => match base.split_once('.') {
            Some((l, e)) => {
                let l = if l == "C" { "en_US" } else { l };
                let el = e.to_lowercase().replace('-', "");
                let e = if el == "utf8" {
                    "UTF-8".to_string()
                } else {
                    e.to_string()
                };
                (l.to_string(), e)
            }
            None => (base.clone(), "ISO8859-1".to_string()),
        },
    };
    let mut m = Map::default();
    set(&mut m, "defaultlanguage", Value::Str(lang));
    set(&mut m, "defaultencoding", Value::Str(enc));
    set(&mut m, "detectedencoding", Value::str("utf-8"));
    set(&mut m, "timezone", Value::str("unknown"));
    m
}

fn has_bin(name: &str) -> bool {
    sys::which(name).is_some()
}

/// `os_data` for Linux.
fn os_data() -> Map {
    let mut g = Map::default();
    set(&mut g, "num_gpus", Value::Int(0));
    set(&mut g, "gpus", Value::List(vec![]));
    let u = sys::uname();
    let field = |f: fn(&sys::Uname) -> &String| u.as_ref().map(f).cloned().unwrap_or_default();
    let cpuarch = field(|u| &u.machine);
    set(&mut g, "kernel", Value::str(field(|u| &u.sysname)));
    set(&mut g, "nodename", Value::str(field(|u| &u.nodename)));
    set(&mut g, "kernelrelease", Value::str(field(|u| &u.release)));
    set(&mut g, "kernelversion", Value::str(field(|u| &u.version)));
    set(&mut g, "cpuarch", Value::str(cpuarch.clone()));

    if has_bin("selinuxenabled") {
        let mut s = Map::default();
        let enabled = sys::which("selinuxenabled")
            .and_then(|p| sys::run(&p.to_string_lossy(), &[], false))
            .map(|o| o.retcode == 0)
            .unwrap_or(false);
        set(&mut s, "enabled", Value::Bool(enabled));
        if let Some(ge) = sys::which("getenforce") {
            if let Some(o) = sys::run(&ge.to_string_lossy(), &[], true) {
                set(&mut s, "enforced", Value::str(o.stdout.trim()));
            }
        }
        set(&mut g, "selinux", Value::Map(s));
    }
    if has_bin("systemctl") && has_bin("localectl") {
        let mut version = "UNDEFINED".to_string();
        let mut features = String::new();
        if let Some(o) = sys::which("systemctl")
            .and_then(|p| sys::run_cached(&p.to_string_lossy(), &["--version"], false, false))
        {
            if o.retcode == 0 {
                let lines: Vec<&str> = o.stdout.lines().collect();
                if let Some(first) = lines.first() {
                    if first.starts_with("systemd ") {
                        if let (Some(v), Some(f)) = (first.split_whitespace().nth(1), lines.get(1))
                        {
                            version = v.to_string();
                            features = f.to_string();
                        }
                    }
                }
            }
        }
        let mut s = Map::default();
        set(&mut s, "version", Value::Str(version));
        set(&mut s, "features", Value::Str(features));
        set(&mut g, "systemd", Value::Map(s));
    }
    set(&mut g, "init", Value::str(hw::init_system()));
    update(&mut g, os::linux_distribution_data());
    match std::fs::read("/proc/cpuinfo") {
        Ok(b) => update(&mut g, hw::parse_cpuinfo(&String::from_utf8_lossy(&b))),
        Err(_) => update(&mut g, hw::parse_cpuinfo("")),
    }
    if let Some(gpu) = hw::gpu_data() {
        update(&mut g, gpu);
    }
    if Path::new("/proc/device-tree").is_dir() {
        update(&mut g, devicetree_data());
    }
    let os_family = g
        .get(&Value::str("os_family"))
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    set(&mut g, "osarch", os::osarch(&os_family, &cpuarch));
    let mem = std::fs::read("/proc/meminfo")
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    update(&mut g, hw::parse_meminfo(&mem));
    update(&mut g, hw::hw_data());
    let virt = hw::virtual_grains(None);
    let virtual_ = virt
        .get(&Value::str("virtual"))
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    update(&mut g, virt);
    update(&mut g, hw::virtual_hv(&virtual_));
    let ps = if virtual_ == "openvzhn" {
        "ps -fH -p $(grep -l \"^envID:[[:space:]]*0\\$\" /proc/[0-9]*/status | sed -e \"s=/proc/\\([0-9]*\\)/.*=\\1=\")  | awk '{ $7=\"\"; print }'"
    } else if os_family == "NILinuxRT" {
        "ps -o user,pid,ppid,tty,time,comm"
    } else {
        "ps -efHww"
    };
    set(&mut g, "ps", Value::str(ps));
    let gs = |k: &str| {
        g.get(&Value::str(k))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let osrelease = gs("osrelease");
    if !osrelease.is_empty() {
        let rel = os::osrelease_data(&gs("os"), &gs("osfullname"), &osrelease);
        update(&mut g, rel);
    }
    g
}

fn devicetree_data() -> Map {
    let read = |p: &str| -> Option<String> {
        let b = std::fs::read(format!("/proc/device-tree/{p}")).ok()?;
        let s = String::from_utf8_lossy(&b)
            .trim_end_matches('\0')
            .to_string();
        if s.is_empty() {
            None
        } else {
            Some(s)
        }
    };
    let mut g = Map::default();
    if let Some(model) = read("model") {
        match model.split_once(',') {
            Some((m, p)) => {
                set(&mut g, "manufacturer", Value::str(m));
                set(&mut g, "productname", Value::str(p));
            }
            None => set(&mut g, "productname", Value::str(model)),
        }
    }
    if let Some(s) = read("system-id") {
        set(&mut g, "serialnumber", Value::Str(s));
    }
    if let Some(s) = read("serial-number") {
        set(&mut g, "serialnumber", Value::Str(s));
    }
    g
}

/// `zfs.has_feature_flags`: Salt asks whether `man zpool-features`
/// succeeds, which costs man-db's whole search (25 ms, more than compiling a
/// large tree). Brine looks for the page file itself in the manual
/// directories (`MANPATH` and the standard roots); see docs/compat.md.
fn zfs_feature_flags() -> bool {
    sys::which("man").is_some() && zpool_features_page_installed()
}

/// Whether a zpool-features manual page file exists.
fn zpool_features_page_installed() -> bool {
    let mut roots: Vec<String> = std::env::var("MANPATH")
        .unwrap_or_default()
        .split(':')
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    for r in ["/usr/share/man", "/usr/local/share/man", "/usr/local/man"] {
        roots.push(r.to_string());
    }
    roots.iter().any(|root| {
        ["5", "7", "8"].iter().any(|sec| {
            ["", ".gz", ".bz2", ".xz", ".zst"].iter().any(|ext| {
                Path::new(&format!("{root}/man{sec}/zpool-features.{sec}{ext}")).exists()
            })
        })
    })
}

/// The non-core grain modules loaded on Linux by default.
pub fn extra_grains(opts: &Value) -> Map {
    let mut g = Map::default();
    // disks
    let mut disks = Vec::new();
    let mut ssds = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/sys/block") {
        for e in rd.flatten() {
            let path = e.path();
            let virtual_ = std::fs::read_link(&path)
                .map(|l| l.to_string_lossy().starts_with("../devices/virtual/"))
                .unwrap_or(false);
            if virtual_ {
                continue;
            }
            let Ok(flag) = std::fs::read(path.join("queue/rotational")) else {
                continue;
            };
            let name = Value::str(e.file_name().to_string_lossy());
            match flag.first() {
                Some(b'0') => ssds.push(name),
                Some(b'1') => disks.push(name),
                _ => {}
            }
        }
    }
    set(&mut g, "disks", Value::List(disks));
    set(&mut g, "ssds", Value::List(ssds));
    // extra.config: the static grains file next to the config file
    if let Some(conf) = opt(opts, "conf_file").and_then(|v| v.as_str()) {
        let p = Path::new(conf);
        let gfn = if p.is_dir() {
            p.join("grains")
        } else {
            p.parent().unwrap_or(Path::new("/")).join("grains")
        };
        if gfn.is_file() {
            if let Ok(text) = std::fs::read_to_string(&gfn) {
                if let Ok(Value::Map(m)) = brine_core::yaml::load(&text) {
                    update(&mut g, m);
                }
            }
        }
    }
    // extra.shell, transactional, uefi
    set(
        &mut g,
        "shell",
        Value::str(std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into())),
    );
    set(
        &mut g,
        "transactional",
        Value::Bool(has_bin("transactional-update")),
    );
    let efivars = ["/sys/firmware/efi/efivars", "/sys/firmware/efi/vars"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    set(&mut g, "efi", Value::Bool(efivars.is_some()));
    set(
        &mut g,
        "efi-secure-boot",
        Value::Bool(efivars.map(secure_boot).unwrap_or(false)),
    );
    // lvm
    if let Some(lvm) = sys::which("lvm") {
        let lvm = lvm.to_string_lossy().into_owned();
        let mut m = Map::default();
        if let Some(o) = sys::run(&lvm, &["vgs", "-o", "vg_name", "--noheadings"], false) {
            for vg in o.stdout.lines() {
                let vg = vg.trim();
                let lvs = sys::run(&lvm, &["lvs", "-o", "lv_name", "--noheadings", vg], false)
                    .map(|o| {
                        o.stdout
                            .lines()
                            .map(|l| Value::str(l.trim()))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                set(&mut m, vg, Value::List(lvs));
            }
        }
        set(&mut g, "lvm", Value::Map(m));
    }
    // mdadm
    if let Ok(text) = std::fs::read_to_string("/proc/mdstat") {
        let mut devs: Vec<String> = Vec::new();
        for line in text.lines() {
            if line.starts_with("Personalities : ") || line.starts_with("unused devices:") {
                continue;
            }
            if let Some((d, _)) = line.split_once(" : ") {
                if !devs.iter().any(|x| x == d) {
                    devs.push(d.to_string());
                }
            }
        }
        devs.sort();
        set(&mut g, "mdadm", str_list(devs));
    }
    // minion_process
    let uid = sys::euid();
    let username = sys::user_name(uid).unwrap_or_default();
    let groupname = sys::user_gid(&username)
        .and_then(sys::group_name)
        .unwrap_or_default();
    set(&mut g, "username", Value::Str(username));
    set(&mut g, "groupname", Value::Str(groupname));
    set(&mut g, "pid", Value::Int(std::process::id() as i128));
    set(&mut g, "gid", Value::Int(sys::egid() as i128));
    set(&mut g, "uid", Value::Int(uid as i128));
    // package: Salt reads salt/_pkg.txt; Brine is not a Salt package.
    set(&mut g, "package", Value::Null);
    // zfs
    let zfs_support =
        has_bin("zpool") && (Path::new("/sys/module/zfs").exists() || has_bin("zfs-fuse"));
    set(&mut g, "zfs_support", Value::Bool(zfs_support));
    set(
        &mut g,
        "zfs_feature_flags",
        Value::Bool(zfs_feature_flags()),
    );
    g
}

fn secure_boot(efivars_dir: &str) -> bool {
    let Ok(rd) = std::fs::read_dir(efivars_dir) else {
        return false;
    };
    let is_efivars = efivars_dir.ends_with("/efivars");
    let matches: Vec<std::path::PathBuf> = rd
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("SecureBoot-"))
        .map(|e| {
            if is_efivars {
                e.path()
            } else {
                e.path().join("data")
            }
        })
        .filter(|p| p.exists())
        .collect();
    if matches.len() != 1 {
        return false;
    }
    std::fs::read(&matches[0])
        .map(|b| b.last() == Some(&1))
        .unwrap_or(false)
}

/// All grains as `salt.loader.grains` returns them: core grains, the other
/// grain modules, then the static `grains:` from the minion config merged
/// over them (deep merge when `grains_deep_merge: true`).
pub fn grains(opts: &Value) -> Map {
    prefetch();
    let core = core_grains(opts);
    let extra = extra_grains(opts);
    sys::forget_which();
    assemble(opts, core, extra)
}

/// Core grains, then the other grain modules, then the static grains.
fn assemble(opts: &Value, core: Map, extra: Map) -> Map {
    let mut g = core;
    let deep = matches!(opt(opts, "grains_deep_merge"), Some(Value::Bool(true)));
    if deep {
        brine_core::config::dictupdate(&mut g, &extra, false);
    } else {
        update(&mut g, extra);
    }
    if let Some(Value::Map(statics)) = opt(opts, "grains") {
        if deep {
            brine_core::config::dictupdate(&mut g, statics, false);
        } else {
            update(&mut g, statics.clone());
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_id_matches_salt() {
        // Generated with Salt: abs(int(sha256(id).hexdigest(), 16) % 2**31)
        assert_eq!(server_id("x"), 303712385);
    }

    #[test]
    fn static_grains_override() {
        let mut opts = Map::default();
        set(&mut opts, "id", Value::str("m1"));
        let mut statics = Map::default();
        set(
            &mut statics,
            "roles",
            Value::List(vec![Value::str("kubernetes-master")]),
        );
        set(&mut statics, "os", Value::str("Custom"));
        set(&mut opts, "grains", Value::Map(statics));
        let g = Value::Map(grains(&Value::Map(opts)));
        assert_eq!(g.get("os"), Some(&Value::str("Custom")));
        assert_eq!(g.get("id"), Some(&Value::str("m1")));
        assert!(g.get("roles").is_some());
    }
}
