//! Hardware grains: CPU (`/proc/cpuinfo`), memory (`/proc/meminfo`), GPUs
//! (`lspci -vmm`), firmware data (`/sys/class/dmi/id`), the `virtual`
//! detection and the `init` system, following `salt/grains/core.py`.

use brine_core::{Map, Value};
use regex::Regex;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{set, sys};

/// `_linux_cpudata` on the text of `/proc/cpuinfo`.
pub fn parse_cpuinfo(text: &str) -> Map {
    let mut num_cpus: i128 = 0;
    let mut cpu_model: Option<String> = None;
    let mut cpu_flags: Option<Vec<Value>> = None;
    for line in text.lines() {
        let comps: Vec<&str> = line.split(':').collect();
        if comps.len() <= 1 {
            continue;
        }
        let key = comps[0].trim();
        let val = comps[1].trim();
        match key {
            "processor" => num_cpus += 1,
            "# processors" => {
                if let Ok(n) = val.parse::<i128>() {
                    num_cpus = n;
                }
            }
            "vendor_id" | "model name" | "cpu" => cpu_model = Some(val.to_string()),
            "flags" | "Features" => {
                cpu_flags = Some(val.split_whitespace().map(Value::str).collect())
            }
            "Processor" => {
                cpu_model = Some(val.split('-').next().unwrap_or("").to_string());
                num_cpus = 1;
            }
            _ => {}
        }
    }
    let mut g = Map::default();
    set(&mut g, "num_cpus", Value::Int(num_cpus));
    set(
        &mut g,
        "cpu_model",
        Value::str(cpu_model.unwrap_or_else(|| "Unknown".into())),
    );
    set(
        &mut g,
        "cpu_flags",
        Value::List(cpu_flags.unwrap_or_default()),
    );
    g
}

/// `_linux_memdata` on the text of `/proc/meminfo` (MiB, floor division).
pub fn parse_meminfo(text: &str) -> Map {
    let mut g = Map::default();
    set(&mut g, "mem_total", Value::Int(0));
    set(&mut g, "swap_total", Value::Int(0));
    for line in text.lines() {
        let comps: Vec<&str> = line.split(':').collect();
        if comps.len() <= 1 {
            continue;
        }
        let key = comps[0].trim();
        if key != "MemTotal" && key != "SwapTotal" {
            continue;
        }
        let Some(kib) = comps[1]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<i128>().ok())
        else {
            continue;
        };
        let name = if key == "MemTotal" {
            "mem_total"
        } else {
            "swap_total"
        };
        set(&mut g, name, Value::Int(kib.div_euclid(1024)));
    }
    g
}

/// `_linux_gpu_data` from `lspci -vmm` output; `None` when lspci is absent.
pub fn gpu_data() -> Option<Map> {
    let lspci = sys::which("lspci")?;
    let out = sys::run(&lspci.to_string_lossy(), &["-vmm"], true)?;
    Some(parse_lspci_gpus(&out.stdout))
}

pub fn parse_lspci_gpus(text: &str) -> Map {
    const VENDORS: &[&str] = &[
        "nvidia",
        "amd",
        "ati",
        "intel",
        "cirrus logic",
        "vmware",
        "matrox",
        "aspeed",
    ];
    const CLASSES: &[&str] = &[
        "3d controller",
        "display controller",
        "processing accelerators",
        "vga compatible controller",
    ];
    let line_re = Regex::new(r"^\w+:\s+.*").expect("static regex");
    let mut devs: Vec<Vec<(String, String)>> = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.push("");
    for line in lines {
        if line.is_empty() {
            let class = cur
                .iter()
                .find(|(k, _)| k == "Class")
                .map(|(_, v)| v.to_lowercase())
                .unwrap_or_default();
            if CLASSES.contains(&class.as_str()) {
                devs.push(std::mem::take(&mut cur));
            }
            cur.clear();
            continue;
        }
        if line_re.is_match(line) {
            if let Some((k, v)) = line.split_once(':') {
                cur.retain(|(key, _)| key != k.trim());
                cur.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    let field = |d: &[(String, String)], k: &str| -> String {
        d.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let split_re = Regex::new("[^A-Za-z0-9]").expect("static regex");
    let mut gpus = Vec::new();
    for d in &devs {
        let vendor_l = field(d, "Vendor").to_lowercase();
        let parts: Vec<&str> = split_re.split(&vendor_l).collect();
        let vendor = VENDORS
            .iter()
            .find(|v| parts.contains(v))
            .copied()
            .unwrap_or("unknown");
        let mut m = Map::default();
        set(&mut m, "vendor", Value::str(vendor));
        set(&mut m, "model", Value::str(field(d, "Device")));
        gpus.push(Value::Map(m));
    }
    let mut g = Map::default();
    set(&mut g, "num_gpus", Value::Int(gpus.len() as i128));
    set(&mut g, "gpus", Value::List(gpus));
    g
}

/// `_hw_data` for Linux: the firmware files in `/sys/class/dmi/id`, or
/// `dmidecode -s` when that directory is missing.
pub fn hw_data() -> Map {
    let mut g = Map::default();
    let base = Path::new("/sys/class/dmi/id");
    if base.exists() {
        for (key, file) in [
            ("biosversion", "bios_version"),
            ("biosvendor", "bios_vendor"),
            ("boardname", "board_name"),
            ("productname", "product_name"),
            ("manufacturer", "sys_vendor"),
            ("biosreleasedate", "bios_date"),
            ("uuid", "product_uuid"),
            ("serialnumber", "product_serial"),
        ] {
            if let Ok(bytes) = std::fs::read(base.join(file)) {
                let text = String::from_utf8_lossy(&bytes).trim().to_string();
                let text = if key == "uuid" {
                    text.to_lowercase()
                } else {
                    text
                };
                set(&mut g, key, Value::Str(text));
            }
        }
    } else if let Some(dmi) = sys::which("dmidecode") {
        let dmi = dmi.to_string_lossy().into_owned();
        let get = |s: &str| -> Option<String> {
            let o = sys::run(&dmi, &["-s", s], false)?;
            if o.retcode != 0 {
                return None;
            }
            let line = o
                .stdout
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))?
                .to_string();
            clean_value(s, &line)
        };
        for (key, s) in [
            ("biosversion", "bios-version"),
            ("biosvendor", "bios-vendor"),
            ("productname", "system-product-name"),
            ("manufacturer", "system-manufacturer"),
            ("biosreleasedate", "bios-release-date"),
            ("uuid", "system-uuid"),
        ] {
            if let Some(v) = get(s) {
                let v = if key == "uuid" { v.to_lowercase() } else { v };
                set(&mut g, key, Value::Str(v));
            }
        }
        for s in [
            "system-serial-number",
            "chassis-serial-number",
            "baseboard-serial-number",
        ] {
            if let Some(v) = get(s) {
                set(&mut g, "serialnumber", Value::Str(v));
                break;
            }
        }
    }
    g
}

/// `_clean_value`: drop well-known bogus firmware strings.
pub fn clean_value(key: &str, val: &str) -> Option<String> {
    let ci = |p: &str| Regex::new(&format!("(?i){p}")).expect("static regex");
    if val.is_empty() || ci("^none").is_match(val) {
        return None;
    }
    if key.contains("uuid") {
        let re = Regex::new(r"(?i)^(urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$")
            .expect("static regex");
        return if re.is_match(val) {
            Some(val.to_string())
        } else {
            None
        };
    }
    if Regex::new("serial|part|version")
        .expect("static regex")
        .is_match(key)
    {
        if Regex::new("^0+$").expect("static regex").is_match(val)
            || Regex::new("^0?1234567")
                .expect("static regex")
                .is_match(val)
            || ci("sernum|part[_-]?number|specified|filled|applicable").is_match(val)
        {
            return None;
        }
    } else if Regex::new("asset|manufacturer")
        .expect("static regex")
        .is_match(key)
    {
        if ci("manufacturer|to be filled|available|asset|^no(ne|t)").is_match(val) {
            return None;
        }
    } else if ci("to be filled").is_match(val)
        || ci(r"un(known|specified)|no(t|ne)? (asset|provided|defined|available|present|specified)")
            .is_match(val)
    {
        return None;
    }
    Some(val.to_string())
}

/// `_linux_init_system`.
pub fn init_system() -> String {
    if std::fs::metadata("/run/systemd/system").is_ok() {
        return "systemd".into();
    }
    let Ok(bytes) = std::fs::read("/proc/1/cmdline") else {
        return "unknown".into();
    };
    let text = String::from_utf8_lossy(&bytes).replace('\0', " ");
    let cmdline: Vec<&str> = text.split_whitespace().collect();
    let Some(first) = cmdline.first() else {
        return "unknown".into();
    };
    let in_cmdline = |exe: &str| -> bool {
        sys::which(exe)
            .map(|p| cmdline.contains(&p.to_string_lossy().as_ref()))
            .unwrap_or(false)
    };
    if let Some(init_bin) = sys::which(first) {
        if init_bin.to_string_lossy().ends_with("bin/init") {
            if let Ok(content) = std::fs::read(&init_bin) {
                return scan_init_binary(&content).unwrap_or_else(|| "unknown".into());
            }
            return "unknown".into();
        }
    }
    if in_cmdline("supervisord") {
        "supervisord".into()
    } else if in_cmdline("dumb-init") {
        "dumb-init".into()
    } else if in_cmdline("tini") {
        "tini".into()
    } else if cmdline == ["runit"] || cmdline.contains(&"/sbin/my_init") {
        "runit".into()
    } else {
        "unknown".into()
    }
}

/// Search the init binary (in 256 KiB lowercased chunks, as Salt does) for
/// the first of upstart / sysvinit / systemd.
fn scan_init_binary(content: &[u8]) -> Option<String> {
    const INITS: [&[u8]; 3] = [b"upstart", b"sysvinit", b"systemd"];
    let edge_len = 7;
    let mut edge: Vec<u8> = Vec::new();
    for chunk in content.chunks(262_144) {
        let mut buf = edge.clone();
        buf.extend(chunk.iter().map(|b| b.to_ascii_lowercase()));
        for item in INITS {
            if buf.windows(item.len()).any(|w| w == item) {
                return Some(String::from_utf8_lossy(item).into_owned());
            }
        }
        edge = buf[buf.len().saturating_sub(edge_len)..].to_vec();
    }
    None
}

fn read_string(path: &str) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// `_virtual` for Linux: `virtual` and `virtual_subtype`.
pub fn virtual_grains(cpuarch_virtual_hint: Option<&str>) -> Map {
    let mut virtual_ = cpuarch_virtual_hint.unwrap_or("physical").to_string();
    let mut subtype: Option<String> = None;

    let mut cmds: Vec<&str> = vec!["systemd-detect-virt", "virt-what", "dmidecode"];
    if sys::which("virt-what").is_some() {
        cmds = vec!["virt-what"];
    }
    if Path::new("/proc/bus/pci").exists() {
        cmds.push("lspci");
    }
    let uname_brandz = sys::uname()
        .map(|u| {
            [u.sysname, u.nodename, u.release, u.version, u.machine]
                .iter()
                .any(|f| f == "BrandZ virtual linux")
        })
        .unwrap_or(false);
    if uname_brandz {
        let mut g = Map::default();
        set(&mut g, "virtual", Value::str("zone"));
        return g;
    }
    for command in cmds {
        let Some(path) = sys::which(command) else {
            continue;
        };
        // The virtualisation probes describe this boot's machine.
        let Some(out) = sys::run_cached(&path.to_string_lossy(), &[], false, true) else {
            continue;
        };
        if out.retcode > 0 {
            continue;
        }
        let output = out.stdout;
        match command {
            "systemd-detect-virt" => {
                let o = output.as_str();
                let hit = if [
                    "qemu",
                    "kvm",
                    "oracle",
                    "xen",
                    "bochs",
                    "chroot",
                    "uml",
                    "systemd-nspawn",
                ]
                .contains(&o)
                {
                    Some((o.to_string(), None))
                } else if o.contains("vmware") {
                    Some(("VMware".into(), None))
                } else if o.contains("microsoft") {
                    Some(("VirtualPC".into(), None))
                } else if o.contains("lxc") {
                    Some(("container".into(), Some("LXC")))
                } else if o.contains("podman") {
                    Some(("container".into(), Some("Podman")))
                } else if o.contains("docker") {
                    Some(("container".into(), Some("Docker")))
                } else if o.contains("amazon") {
                    Some(("Nitro".into(), Some("Amazon EC2")))
                } else {
                    None
                };
                if let Some((v, s)) = hit {
                    virtual_ = v;
                    if let Some(s) = s {
                        subtype = Some(s.into());
                    }
                    break;
                }
            }
            "virt-what" => {
                for line in output.lines() {
                    let hit: Option<(&str, Option<&str>)> =
                        if ["kvm", "qemu", "uml", "xen"].contains(&line) {
                            Some((line, None))
                        } else if line.contains("lxc") {
                            Some(("container", Some("LXC")))
                        } else if line.contains("docker") {
                            Some(("container", Some("Docker")))
                        } else if line.contains("vmware") {
                            Some(("VMware", None))
                        } else if line.contains("parallels") {
                            Some(("Parallels", None))
                        } else if line.contains("hyperv") {
                            Some(("HyperV", None))
                        } else if line == "ibm_power-kvm" {
                            Some(("kvm", None))
                        } else if line == "ibm_power-lpar_shared" {
                            Some(("LPAR", Some("shared")))
                        } else if line == "ibm_power-lpar_dedicated" {
                            Some(("LPAR", Some("dedicated")))
                        } else {
                            None
                        };
                    if let Some((v, s)) = hit {
                        virtual_ = v.to_string();
                        if let Some(s) = s {
                            subtype = Some(s.into());
                        }
                        break;
                    }
                }
                break;
            }
            "dmidecode" => {
                let o = output.as_str();
                if o.contains("Vendor: QEMU")
                    || o.contains("Manufacturer: QEMU")
                    || o.contains("Vendor: Bochs")
                    || o.contains("Manufacturer: Bochs")
                {
                    virtual_ = "kvm".into();
                }
                if o.contains("BHYVE") {
                    virtual_ = "bhyve".into();
                } else if o.contains("Manufacturer: oVirt") {
                    virtual_ = "kvm".into();
                    subtype = Some("ovirt".into());
                } else if o.contains("Product Name: RHEV Hypervisor") {
                    virtual_ = "kvm".into();
                    subtype = Some("rhev".into());
                } else if o.contains("VirtualBox") {
                    virtual_ = "VirtualBox".into();
                } else if o.contains("VMware") {
                    virtual_ = "VMware".into();
                } else if o.contains(": Microsoft") && o.contains("Virtual Machine") {
                    virtual_ = "VirtualPC".into();
                } else if o.contains("Parallels Software") {
                    virtual_ = "Parallels".into();
                } else if o.contains("Manufacturer: Google") || o.contains("Vendor: SeaBIOS") {
                    virtual_ = "kvm".into();
                }
                break;
            }
            "lspci" => {
                let m = output.to_lowercase();
                if m.contains("vmware") {
                    virtual_ = "VMware".into();
                } else if m.contains("virtualbox") {
                    virtual_ = "VirtualBox".into();
                } else if m.contains("qemu") || m.contains("virtio") {
                    virtual_ = "kvm".into();
                }
                break;
            }
            _ => {}
        }
    }

    // Linux-specific file checks.
    if Path::new("/proc").is_dir() {
        if let (Ok(a), Ok(b)) = (std::fs::metadata("/"), std::fs::metadata("/proc/1/root/.")) {
            let key = |m: &std::fs::Metadata| {
                (
                    m.mode(),
                    m.ino(),
                    m.dev(),
                    m.nlink(),
                    m.uid(),
                    m.gid(),
                    m.size(),
                    m.atime(),
                    m.mtime(),
                    m.ctime(),
                )
            };
            if key(&a) != key(&b) {
                subtype = Some("chroot".into());
            }
        }
    }
    if Path::new("/proc/vz").is_dir() {
        if Path::new("/proc/vz/version").is_file() {
            virtual_ = "openvzhn".into();
        } else if Path::new("/proc/vz/veinfo").is_file() {
            virtual_ = "openvzve".into();
        }
    }
    if let Some(status) = read_string("/proc/self/status") {
        let re = Regex::new(r"^envID:\s+(\d+)$").expect("static regex");
        for line in status.lines() {
            if let Some(c) = re.captures(line) {
                let id: u128 = c[1].parse().unwrap_or(0);
                virtual_ = if id != 0 { "openvzve" } else { "openvzhn" }.into();
            }
        }
    }
    if Path::new("/proc/sys/xen").is_dir()
        || Path::new("/sys/bus/xen").is_dir()
        || Path::new("/proc/xen").is_dir()
    {
        if Path::new("/proc/xen/xsd_kva").is_file() {
            subtype = Some("Xen Dom0".into());
        } else if let Some(caps) = read_string("/proc/xen/capabilities") {
            subtype = Some(if caps.contains("control_d") {
                "Xen Dom0".into()
            } else {
                "Xen PV DomU".into()
            });
        } else if Path::new("/sys/bus/xen").is_dir()
            && Path::new("/sys/bus/xen/drivers/xenconsole").is_dir()
        {
            subtype = Some("Xen PV DomU".into());
        }
        if subtype
            .as_deref()
            .map(|s| s.to_lowercase().contains("dom"))
            .unwrap_or(false)
        {
            virtual_ = "xen".into();
        }
    }
    if let Some(cpuinfo) = read_string("/proc/cpuinfo") {
        if cpuinfo.contains("QEMU Virtual CPU") {
            virtual_ = "kvm".into();
        }
    }
    if let Some(product) = read_string("/sys/devices/virtual/dmi/id/product_name") {
        if product.contains("VirtualBox") {
            virtual_ = "VirtualBox".into();
        } else if product.contains("RHEV Hypervisor") {
            virtual_ = "kvm".into();
            subtype = Some("rhev".into());
        } else if product.contains("oVirt Node") {
            virtual_ = "kvm".into();
            subtype = Some("ovirt".into());
        } else if product.contains("Google") {
            virtual_ = "gce".into();
        } else if product.contains("BHYVE") {
            virtual_ = "bhyve".into();
        }
    }
    if let Some(cg) = read_string("/proc/1/cgroup") {
        if cg.contains(":/lxc/") {
            virtual_ = "container".into();
            subtype = Some("LXC".into());
        } else if cg.contains(":/kubepods/") {
            subtype = Some("kubernetes".into());
        } else if cg.contains(":/libpod_parent/") {
            subtype = Some("libpod".into());
        } else if [":/system.slice/docker", ":/docker/", ":/docker-ce/"]
            .iter()
            .any(|x| cg.contains(x))
        {
            virtual_ = "container".into();
            subtype = Some("Docker".into());
        }
    }
    if subtype.as_deref() != Some("LXC") {
        if let Some(env) = read_string("/proc/1/environ") {
            if env.contains("container=lxc") {
                virtual_ = "container".into();
                subtype = Some("LXC".into());
            }
        }
    }
    if subtype.as_deref().map(|s| !s.is_empty()).unwrap_or(false) && virtual_ == "physical" {
        virtual_ = "virtual".into();
    }
    if ["qemu", "kvm", "xen", "amazon"].contains(&virtual_.as_str()) {
        if let Some(dmi) = sys::which("dmidecode") {
            if let Some(o) = sys::run(&dmi.to_string_lossy(), &["-t", "system"], false) {
                let out = o.stdout;
                if out.contains("Manufacturer: Amazon EC2") {
                    if virtual_ != "xen" {
                        virtual_ = "Nitro".into();
                    }
                    subtype = Some("Amazon EC2".into());
                    let re = Regex::new(r"(?s).*Product Name: ([^\r\n]*)").expect("static regex");
                    if let Some(c) = re.captures(&out) {
                        subtype = Some(format!("Amazon EC2 ({})", &c[1]));
                    }
                } else if Regex::new(r"(?s).*Version: [^\r\n]+\.amazon")
                    .expect("static regex")
                    .is_match(&out)
                {
                    subtype = Some("Amazon EC2".into());
                }
            }
        }
    }
    let mut g = Map::default();
    set(&mut g, "virtual", Value::Str(virtual_));
    if let Some(s) = subtype {
        set(&mut g, "virtual_subtype", Value::Str(s));
    }
    g
}

/// `_virtual_hv`: Xen hypervisor version and features from sysfs.
pub fn virtual_hv(virtual_: &str) -> Map {
    let mut g = Map::default();
    if !virtual_.contains("xen") {
        return g;
    }
    let rd = |f: &str| {
        read_string(&format!("/sys/hypervisor/version/{f}")).map(|s| s.trim().to_string())
    };
    if let (Some(ma), Some(mi), Some(ex)) = (rd("major"), rd("minor"), rd("extra")) {
        set(
            &mut g,
            "virtual_hv_version",
            Value::str(format!("{ma}.{mi}{ex}")),
        );
        set(
            &mut g,
            "virtual_hv_version_info",
            Value::List(vec![Value::Str(ma), Value::Str(mi), Value::Str(ex)]),
        );
    }
    if let Some(features) = read_string("/sys/hypervisor/properties/features") {
        let features = features.trim().to_string();
        let table: [(u32, &str); 14] = [
            (0, "writable_page_tables"),
            (1, "writable_descriptor_tables"),
            (2, "auto_translated_physmap"),
            (3, "supervisor_mode_kernel"),
            (4, "pae_pgdir_above_4gb"),
            (5, "mmu_pt_update_preserve_ad"),
            (7, "gnttab_map_avail_bits"),
            (8, "hvm_callback_vector"),
            (9, "hvm_safe_pvclock"),
            (10, "hvm_pirqs"),
            (11, "dom0"),
            (12, "grant_map_identity"),
            (13, "memory_op_vnode_supported"),
            (14, "ARM_SMCCC_supported"),
        ];
        if let Ok(bits) = u128::from_str_radix(features.trim_start_matches("0x"), 16) {
            let enabled: Vec<Value> = table
                .iter()
                .filter(|(b, _)| bits & (1u128 << b) != 0)
                .map(|(_, n)| Value::str(*n))
                .collect();
            set(&mut g, "virtual_hv_features", Value::Str(features));
            set(&mut g, "virtual_hv_features_list", Value::List(enabled));
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_x86() {
        let text = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu vme de\n\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu vme de\n";
        let g = parse_cpuinfo(text);
        assert_eq!(g.get(&Value::str("num_cpus")), Some(&Value::Int(2)));
        assert_eq!(
            g.get(&Value::str("cpu_model")),
            Some(&Value::str("AMD EPYC"))
        );
        assert_eq!(
            g.get(&Value::str("cpu_flags")),
            Some(&Value::List(vec![
                Value::str("fpu"),
                Value::str("vme"),
                Value::str("de")
            ]))
        );
    }

    #[test]
    fn cpuinfo_arm_and_empty() {
        let g = parse_cpuinfo(
            "Processor\t: ARMv6-compatible processor rev 7 (v6l)\nFeatures\t: swp half\n",
        );
        assert_eq!(g.get(&Value::str("num_cpus")), Some(&Value::Int(1)));
        assert_eq!(g.get(&Value::str("cpu_model")), Some(&Value::str("ARMv6")));
        let g = parse_cpuinfo("");
        assert_eq!(
            g.get(&Value::str("cpu_model")),
            Some(&Value::str("Unknown"))
        );
        assert_eq!(g.get(&Value::str("cpu_flags")), Some(&Value::List(vec![])));
    }

    #[test]
    fn meminfo() {
        let g =
            parse_meminfo("MemTotal:       24684544 kB\nMemFree: 1 kB\nSwapTotal:       2047 kB\n");
        assert_eq!(g.get(&Value::str("mem_total")), Some(&Value::Int(24106)));
        assert_eq!(g.get(&Value::str("swap_total")), Some(&Value::Int(1)));
        let g = parse_meminfo("garbage\n");
        assert_eq!(g.get(&Value::str("mem_total")), Some(&Value::Int(0)));
    }

    #[test]
    fn lspci_gpu() {
        let text = "Slot:\t00:02.0\nClass:\tVGA compatible controller\nVendor:\tIntel Corporation\nDevice:\tHD Graphics 620\n\nSlot:\t00:1f.3\nClass:\tAudio device\nVendor:\tIntel Corporation\nDevice:\tSunrise Point-LP HD Audio\n";
        let g = parse_lspci_gpus(text);
        assert_eq!(g.get(&Value::str("num_gpus")), Some(&Value::Int(1)));
    }

    #[test]
    fn clean_values() {
        assert_eq!(clean_value("serialnumber", "0000000"), None);
        assert_eq!(clean_value("manufacturer", "To be filled by O.E.M."), None);
        assert_eq!(clean_value("productname", "KVM"), Some("KVM".into()));
    }
}
