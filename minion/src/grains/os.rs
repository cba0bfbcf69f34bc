//! Distribution grains (`os`, `os_family`, `oscodename`, `osfullname`,
//! `osrelease`, `lsb_distrib_*`, `osrelease_info`, `osmajorrelease`,
//! `osfinger`), computed like `salt/grains/core.py`'s
//! `_linux_distribution_data` from `/etc/os-release`.
//!
//! Salt first tries the Python `lsb_release` module; Salt's onedir/venv
//! Python never has it, so Salt always takes the "lsb error" path: parse
//! `/etc/lsb-release`, then derive `lsb_distrib_*` from os-release and use
//! the legacy heuristics. Brine follows that path unconditionally.

use brine_core::{Map, Value};
use regex::Regex;

use super::{set, sys};

/// Python's `platform.freedesktop_os_release()` parser: `KEY=value` lines,
/// optional matching quotes, backslash escapes of `\ $ " ' `` ` ``.
pub fn parse_os_release(text: &str) -> Vec<(String, String)> {
    let mut info: Vec<(String, String)> = vec![
        ("NAME".into(), "Linux".into()),
        ("ID".into(), "linux".into()),
        ("PRETTY_NAME".into(), "Linux".into()),
    ];
    for line in text.split('\n') {
        let Some(eq) = line.find('=') else { continue };
        let name = &line[..eq];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &line[eq + 1..];
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) if rest.len() >= 2 && rest.ends_with(q) => {
                &rest[1..rest.len() - 1]
            }
            _ => rest,
        };
        let mut unescaped = String::with_capacity(value.len());
        let mut chars = value.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(&n) = chars.peek() {
                    if matches!(n, '\\' | '$' | '"' | '\'' | '`') {
                        unescaped.push(n);
                        chars.next();
                        continue;
                    }
                }
            }
            unescaped.push(c);
        }
        if let Some(slot) = info.iter_mut().find(|(k, _)| k == name) {
            slot.1 = unescaped;
        } else {
            info.push((name.to_string(), unescaped));
        }
    }
    info
}

fn get<'a>(info: &'a [(String, String)], key: &str) -> Option<&'a str> {
    info.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `/etc/lsb-release` parsing (`_parse_lsb_release`), in file order.
pub fn parse_lsb_release(text: &str) -> Vec<(String, String)> {
    let re = Regex::new(
        r#"^(DISTRIB_(?:ID|RELEASE|CODENAME|DESCRIPTION))=(?:'|")?([\w\s\.\-_]+)(?:'|")?"#,
    )
    .expect("static regex");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(c) = re.captures(line) {
            let key = format!("lsb_{}", c[1].to_lowercase());
            let val = c[2].trim_end().to_string();
            if let Some(slot) = out.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = val;
            } else {
                out.push((key, val));
            }
        }
    }
    out
}

const OS_NAME_MAP: &[(&str, &str)] = &[
    ("redhatente", "RedHat"),
    ("gentoobase", "Gentoo"),
    ("archarm", "Arch ARM"),
    ("arch", "Arch"),
    ("debian", "Debian"),
    ("Junos", "Junos"),
    ("raspbian", "Raspbian"),
    ("fedoraremi", "Fedora"),
    ("chapeau", "Chapeau"),
    ("korora", "Korora"),
    ("amazonami", "Amazon"),
    ("alt", "ALT"),
    ("enterprise", "OEL"),
    ("oracleserv", "OEL"),
    ("cloudserve", "CloudLinux"),
    ("cloudlinux", "CloudLinux"),
    ("almalinux", "AlmaLinux"),
    ("pidora", "Fedora"),
    ("scientific", "ScientificLinux"),
    ("synology", "Synology"),
    ("nilrt", "NILinuxRT"),
    ("poky", "Poky"),
    ("manjaro", "Manjaro"),
    ("manjarolin", "Manjaro"),
    ("univention", "Univention"),
    ("antergos", "Antergos"),
    ("sles", "SUSE"),
    ("void", "Void"),
    ("slesexpand", "RES"),
    ("linuxmint", "Mint"),
    ("neon", "KDE neon"),
    ("pop", "Pop"),
    ("rocky", "Rocky"),
    ("alibabaclo", "Alinux"),
    ("mendel", "Mendel"),
];

const OS_FAMILY_MAP: &[(&str, &str)] = &[
    ("Ubuntu", "Debian"),
    ("Fedora", "RedHat"),
    ("Chapeau", "RedHat"),
    ("Korora", "RedHat"),
    ("FedBerry", "RedHat"),
    ("CentOS", "RedHat"),
    ("CentOS Stream", "RedHat"),
    ("GoOSe", "RedHat"),
    ("Scientific", "RedHat"),
    ("Amazon", "RedHat"),
    ("CloudLinux", "RedHat"),
    ("AlmaLinux", "RedHat"),
    ("OVS", "RedHat"),
    ("OEL", "RedHat"),
    ("XCP", "RedHat"),
    ("XCP-ng", "RedHat"),
    ("XenServer", "RedHat"),
    ("RES", "RedHat"),
    ("Sangoma", "RedHat"),
    ("VMware Photon OS", "RedHat"),
    ("Mandrake", "Mandriva"),
    ("Mint", "Debian"),
    ("VMwareESX", "VMware"),
    ("Bluewhite64", "Bluewhite"),
    ("Slamd64", "Slackware"),
    ("SLES", "Suse"),
    ("SUSE Enterprise Server", "Suse"),
    ("SUSE  Enterprise Server", "Suse"),
    ("SLED", "Suse"),
    ("openSUSE", "Suse"),
    ("SUSE", "Suse"),
    ("openSUSE Leap", "Suse"),
    ("openSUSE Tumbleweed", "Suse"),
    ("SLES_SAP", "Suse"),
    ("Arch ARM", "Arch"),
    ("Manjaro", "Arch"),
    ("Manjaro ARM", "Arch"),
    ("Antergos", "Arch"),
    ("EndeavourOS", "Arch"),
    ("ALT", "RedHat"),
    ("Trisquel", "Debian"),
    ("GCEL", "Debian"),
    ("Linaro", "Debian"),
    ("elementary OS", "Debian"),
    ("elementary", "Debian"),
    ("Univention", "Debian"),
    ("ScientificLinux", "RedHat"),
    ("Raspbian", "Debian"),
    ("Devuan", "Debian"),
    ("antiX", "Debian"),
    ("Kali", "Debian"),
    ("Parrot OS", "Debian"),
    ("neon", "Debian"),
    ("Cumulus", "Debian"),
    ("Deepin", "Debian"),
    ("NILinuxRT", "NILinuxRT"),
    ("KDE neon", "Debian"),
    ("Void", "Void"),
    ("IDMS", "Debian"),
    ("Funtoo", "Gentoo"),
    ("TurnKey", "Debian"),
    ("Pop", "Debian"),
    ("Rocky", "RedHat"),
    ("AstraLinuxCE", "Debian"),
    ("AstraLinuxSE", "Debian"),
    ("Alinux", "RedHat"),
    ("Mendel", "Debian"),
    ("OSMC", "Debian"),
];

fn lookup(map: &[(&str, &str)], key: &str) -> Option<String> {
    map.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}

/// `_derive_os_grain`: the short `os` name from the full OS name.
pub fn derive_os_grain(osfullname: &str, os_id: Option<&str>) -> String {
    match (os_id, osfullname) {
        (Some("astra"), "Astra Linux (Orel)") => return "AstraLinuxCE".into(),
        (Some("astra"), "Astra Linux (Smolensk)") => return "AstraLinuxSE".into(),
        (Some("pop"), "Pop!_OS") => return "Pop".into(),
        _ => {}
    }
    let distroname = strip_linux_suffixes(osfullname).trim().to_string();
    let shortname: String = distroname
        .replace(' ', "")
        .to_lowercase()
        .chars()
        .take(10)
        .collect();
    lookup(OS_NAME_MAP, &shortname).unwrap_or(distroname)
}

/// `re.sub(r"\W(?:gnu/)?linux", "", name, flags=re.I)`: every non-word
/// character followed by `linux` or `gnu/linux` (any case) removed, scanning
/// left to right as the regex engine does. Written out because compiling
/// the Unicode-aware regex cost more than all other OS grains together.
fn strip_linux_suffixes(name: &str) -> String {
    fn starts_ci(s: &str, word: &str) -> bool {
        s.len() >= word.len()
            && s.is_char_boundary(word.len())
            && s[..word.len()].eq_ignore_ascii_case(word)
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        if !(c.is_alphanumeric() || c == '_') {
            let skip = if starts_ci(after, "gnu/linux") {
                Some("gnu/linux".len())
            } else if starts_ci(after, "linux") {
                Some("linux".len())
            } else {
                None
            };
            if let Some(n) = skip {
                rest = &after[n..];
                continue;
            }
        }
        out.push(c);
        rest = after;
    }
    out
}

fn family_id(os_id: &str, id_like: Option<&str>) -> String {
    let Some(like) = id_like.filter(|s| !s.is_empty()) else {
        return os_id.to_string();
    };
    let mut ids = vec![os_id.to_string()];
    ids.extend(like.split_whitespace().map(str::to_string));
    if ids.iter().any(|i| i == "debian" || i == "ubuntu") {
        return "debian".into();
    }
    ids.last().cloned().unwrap_or_default()
}

fn prettify_os_family(family: &str) -> String {
    if family == "fedora" {
        return "RedHat".into();
    }
    // str.capitalize(): first char upper, rest lower.
    let mut c = family.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
        None => String::new(),
    }
}

/// `_parse_cpe_name`, returning (vendor, version) when recognised.
fn parse_cpe_vendor_version(cpe: &str) -> Option<(Option<String>, Option<String>)> {
    let parts: Vec<&str> = cpe.split(':').collect();
    if parts.len() > 4 && parts[0] == "cpe" {
        let star = |s: &str| if s == "*" { None } else { Some(s.to_string()) };
        if parts[1].starts_with('/') {
            return Some((Some(parts[2].to_string()), Some(parts[4].to_string())));
        } else if parts[1] == "2.3" && (parts.len() == 6 || (parts.len() > 7 && parts.len() <= 13))
        {
            return Some((star(parts[3]), star(parts[5])));
        }
    }
    None
}

/// A reduced `distro` package view used by the legacy fallback:
/// `(name, version(best=True), codename)`.
fn linux_distribution(
    os_release: &[(String, String)],
    debian_version: Option<&str>,
) -> (String, String, String) {
    let name = get(os_release, "NAME").unwrap_or("").to_string();
    let mut versions: Vec<String> = vec![get(os_release, "VERSION_ID").unwrap_or("").to_string()];
    if let Some(pretty) = get(os_release, "PRETTY_NAME") {
        versions.push(release_content_version(pretty));
    }
    let id = get(os_release, "ID").unwrap_or("");
    let like = get(os_release, "ID_LIKE").unwrap_or("");
    if id == "debian" || like.split_whitespace().any(|l| l == "debian") {
        if let Some(v) = debian_version {
            versions.push(v.trim().to_string());
        }
    }
    let mut version = String::new();
    for v in versions {
        if v.matches('.').count() > version.matches('.').count() || version.is_empty() {
            version = v;
        }
    }
    let codename = if let Some(c) = get(os_release, "VERSION_CODENAME") {
        c.to_string()
    } else if let Some(c) = get(os_release, "UBUNTU_CODENAME") {
        c.to_string()
    } else if let Some(v) = get(os_release, "VERSION") {
        let re = Regex::new(r"\((\D+)\)|,\s*(\D+)").expect("static regex");
        re.captures(v)
            .and_then(|c| c.get(1).or(c.get(2)))
            .map(|m| m.as_str().to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    (name, version, codename)
}

/// `distro`'s release-content parser, version part only.
fn release_content_version(line: &str) -> String {
    let re = Regex::new(r"^(?:[^)]*\)(.*)\()? *(?:STL )?([\d.+\-a-z]*\d) *(?:esaeler *)?(.+)")
        .expect("static regex");
    let rev: String = line.trim().chars().rev().collect();
    re.captures(&rev)
        .and_then(|c| c.get(2))
        .map(|m| m.as_str().chars().rev().collect())
        .unwrap_or_default()
}

/// The distribution grains, in Salt's insertion order.
pub fn linux_distribution_data() -> Map {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let os_release = read("/etc/os-release").or_else(|| read("/usr/lib/os-release"));
    distribution_from(
        os_release.as_deref(),
        read("/etc/lsb-release").as_deref(),
        read("/etc/debian_version").as_deref(),
    )
}

/// The distribution grains from the texts of os-release, lsb-release and
/// debian_version (each `None` when the file is missing).
pub fn distribution_from(
    os_release_text: Option<&str>,
    lsb_text: Option<&str>,
    debian_version: Option<&str>,
) -> Map {
    let mut g = Map::default();
    // lsb: Salt's Python has no lsb_release module -> parse the file.
    if let Some(text) = lsb_text {
        for (k, v) in parse_lsb_release(text) {
            set(&mut g, &k, Value::Str(v));
        }
    }
    let os_release = os_release_text.map(parse_os_release);

    if let Some(osr) = &os_release {
        let id = get(osr, "ID").unwrap_or("linux");
        let name = get(osr, "NAME").unwrap_or("Linux");
        set(&mut g, "os", Value::str(derive_os_grain(name, Some(id))));
        set(
            &mut g,
            "os_family",
            Value::str(prettify_os_family(&family_id(id, get(osr, "ID_LIKE")))),
        );
        let codename = get(osr, "VERSION_CODENAME")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| oscodename_quirks(osr));
        set(
            &mut g,
            "oscodename",
            codename.map(Value::Str).unwrap_or(Value::Null),
        );
        set(&mut g, "osfullname", Value::str(name.trim()));
        // osrelease is set here and deleted again by the legacy path.
    }

    // Legacy heuristics (always taken: lsb_has_error is true).
    let has = |g: &Map, k: &str| g.contains_key(&Value::str(k));
    let gstr = |g: &Map, k: &str| -> String {
        g.get(&Value::str(k))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    if gstr(&g, "lsb_distrib_description")
        .to_lowercase()
        .starts_with("antergos")
    {
        set(&mut g, "osfullname", Value::str("Antergos Linux"));
    } else if !has(&g, "lsb_distrib_id") {
        if let Some(osr) = &os_release {
            if let Some(n) = get(osr, "NAME") {
                set(&mut g, "lsb_distrib_id", Value::str(n.trim()));
            }
            if let Some(v) = get(osr, "VERSION_ID") {
                set(&mut g, "lsb_distrib_release", Value::str(v));
            }
            if let Some(c) = get(osr, "VERSION_CODENAME") {
                set(&mut g, "lsb_distrib_codename", Value::str(c));
            } else if let Some(p) = get(osr, "PRETTY_NAME") {
                set(&mut g, "lsb_distrib_codename", Value::str(p));
            }
            if let Some(cpe) = get(osr, "CPE_NAME") {
                if let Some((vendor, version)) = parse_cpe_vendor_version(cpe) {
                    let vendor_l = vendor.clone().unwrap_or_default().to_lowercase();
                    if vendor_l == "suse" || vendor_l == "opensuse" {
                        set(&mut g, "os", Value::str("SUSE"));
                        if get(osr, "NAME") == Some("openSUSE Leap") {
                            set(&mut g, "osfullname", Value::str("Leap"));
                        } else if get(osr, "VERSION") == Some("Tumbleweed") {
                            set(&mut g, "osfullname", Value::str("Tumbleweed"));
                        }
                        if let Some(ver) = version.filter(|v| !v.is_empty()) {
                            if vendor.as_deref() == Some("opensuse") {
                                set(&mut g, "lsb_distrib_release", Value::str(ver));
                            }
                        }
                    }
                }
            }
            if get(osr, "ID").map(str::trim) == Some("mendel") {
                let pretty = get(osr, "PRETTY_NAME").unwrap_or("");
                let parts: Vec<&str> = pretty.split_whitespace().collect();
                if parts.len() >= 3 {
                    set(&mut g, "lsb_distrib_release", Value::str(parts[2]));
                }
            }
        }
    }

    let empty = Vec::new();
    let (dname, dversion, dcodename) =
        linux_distribution(os_release.as_ref().unwrap_or(&empty), debian_version);
    let strip_q = |s: &str| s.trim_matches('"').trim_matches('\'').to_string();
    let (dname, dversion, dcodename) = (strip_q(&dname), strip_q(&dversion), strip_q(&dcodename));

    if !has(&g, "osfullname") {
        let lsb_id = gstr(&g, "lsb_distrib_id");
        if lsb_id.to_lowercase().starts_with("nilrt") {
            set(&mut g, "osfullname", Value::str("nilrt"));
        } else if has(&g, "lsb_distrib_id") {
            set(&mut g, "osfullname", Value::str(lsb_id.trim()));
        } else {
            set(&mut g, "osfullname", Value::str(dname.trim()));
        }
    }
    // osrelease (always recomputed here)
    let codename_lsb = gstr(&g, "lsb_distrib_codename");
    if ["CentOS Linux 7", "CentOS Linux 8"]
        .iter()
        .any(|c| codename_lsb.contains(c))
    {
        g.shift_remove(&Value::str("lsb_distrib_release"));
    }
    let osrelease = if has(&g, "lsb_distrib_release") {
        gstr(&g, "lsb_distrib_release")
    } else {
        dversion.clone()
    };
    set(&mut g, "osrelease", Value::str(osrelease.trim()));

    let os_now = gstr(&g, "os");
    if !codename_lsb.is_empty()
        && ["Rocky", "AlmaLinux", "AstraLinuxSE"]
            .iter()
            .any(|o| os_now.contains(o))
    {
        if let Some((_, after)) = codename_lsb.split_once('(') {
            let inner = after.split_once(')').map(|(a, _)| a).unwrap_or(after);
            let newc = if os_now == "AstraLinuxSE" {
                inner.split_whitespace().next().unwrap_or("").to_lowercase()
            } else {
                inner.to_string()
            };
            set(&mut g, "lsb_distrib_codename", Value::str(newc));
        }
    }
    let lsb_code = gstr(&g, "lsb_distrib_codename");
    let mut oscodename = if lsb_code.trim().is_empty() {
        dcodename.clone()
    } else {
        lsb_code.trim().to_string()
    };
    if oscodename.contains("Red Hat") {
        oscodename = dcodename.clone();
    }
    set(&mut g, "oscodename", Value::str(oscodename));
    if !has(&g, "os") {
        let full = gstr(&g, "osfullname");
        set(&mut g, "os", Value::str(derive_os_grain(&full, None)));
    }
    let os_now = gstr(&g, "os");
    let family = lookup(OS_FAMILY_MAP, &os_now).unwrap_or(os_now);
    set(&mut g, "os_family", Value::str(family));
    g
}

fn oscodename_quirks(osr: &[(String, String)]) -> Option<String> {
    let id = get(osr, "ID").unwrap_or("");
    if id == "astra" {
        return get(osr, "VARIANT_ID").map(str::to_string);
    }
    if id == "almalinux" || id == "rocky" {
        let re = Regex::new(r"^\d[\d.+\-a-z]* \((?P<codename>.+)\)").expect("static regex");
        return re
            .captures(get(osr, "VERSION").unwrap_or(""))
            .map(|c| c["codename"].to_string());
    }
    None
}

/// `_osarch`: `dpkg --print-architecture` on Debian, rpm on RedHat/Suse.
pub fn osarch(os_family: &str, cpuarch: &str) -> Value {
    if os_family == "Debian" {
        if let Some(dpkg) = sys::which("dpkg") {
            if let Some(o) = sys::run_cached(
                &dpkg.to_string_lossy(),
                &["--print-architecture"],
                true,
                false,
            ) {
                return Value::str(o.stdout.trim());
            }
        }
        return Value::str("");
    }
    if os_family == "RedHat" || os_family == "Suse" {
        let out = match sys::which("rpm") {
            Some(rpm) => sys::run(&rpm.to_string_lossy(), &["--eval", "%{_host_cpu}"], false)
                .map(|o| o.stdout)
                .unwrap_or_default(),
            None => cpuarch.to_string(),
        };
        let out = out.trim();
        return Value::str(if out.is_empty() { "unknown" } else { out });
    }
    Value::str(cpuarch)
}

/// `_osrelease_data`: osrelease_info, osmajorrelease, osfinger.
pub fn osrelease_data(os: &str, osfullname: &str, osrelease: &str) -> Map {
    let mut g = Map::default();
    let info: Vec<Value> = osrelease
        .split('.')
        .map(|p| {
            if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) {
                p.parse::<i128>()
                    .map(Value::Int)
                    .unwrap_or_else(|_| Value::str(p))
            } else {
                Value::str(p)
            }
        })
        .collect();
    let first = info.first().cloned().unwrap_or(Value::Null);
    set(&mut g, "osrelease_info", Value::List(info));
    match &first {
        Value::Int(i) => set(&mut g, "osmajorrelease", Value::Int(*i)),
        Value::Str(s) => {
            if let Ok(i) = s.trim().parse::<i128>() {
                set(&mut g, "osmajorrelease", Value::Int(i));
            }
        }
        _ => {}
    }
    let os_name = if ["Debian", "FreeBSD", "OpenBSD", "NetBSD", "Mac", "Raspbian"].contains(&os) {
        os
    } else {
        osfullname
    };
    let ver = if os == "Ubuntu" || os == "Pop" {
        osrelease.to_string()
    } else {
        match &first {
            Value::Int(i) => i.to_string(),
            Value::Str(s) => s.clone(),
            _ => String::new(),
        }
    };
    set(&mut g, "osfinger", Value::str(format!("{os_name}-{ver}")));
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_suffixes_are_stripped_like_the_regex() {
        let re = Regex::new(r"(?i)\W(?:gnu/)?linux").expect("regex");
        for name in [
            "Debian GNU/Linux",
            "Debian GNU/linux",
            "Arch Linux",
            "Linux",
            " Linux",
            "Red Hat Enterprise Linux Server",
            "Alpine Linux v3.18",
            "openSUSE Leap",
            "Gentoo Base System release 2.6",
            "LinuxMint",
            "Foo-LINUX-linux",
            "a GNU/ Linux",
            "x\u{e9}Linux",
            "\u{e9} Linux\u{e9}",
            "GNU/Linux GNU/Linux",
            "-linuxlinux",
            "",
        ] {
            assert_eq!(
                strip_linux_suffixes(name),
                re.replace_all(name, ""),
                "{name:?}"
            );
        }
    }

    #[test]
    fn os_release_debian() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL=\"https://www.debian.org/\"\n";
        let r = parse_os_release(text);
        assert_eq!(get(&r, "NAME"), Some("Debian GNU/Linux"));
        assert_eq!(get(&r, "VERSION_ID"), Some("12"));
        assert_eq!(get(&r, "VERSION_CODENAME"), Some("bookworm"));
        assert_eq!(get(&r, "ID"), Some("debian"));
        assert_eq!(
            derive_os_grain("Debian GNU/Linux", Some("debian")),
            "Debian"
        );
        assert_eq!(derive_os_grain("Ubuntu", Some("ubuntu")), "Ubuntu");
        assert_eq!(derive_os_grain("Rocky Linux", Some("rocky")), "Rocky");
        assert_eq!(derive_os_grain("Fedora Linux", Some("fedora")), "Fedora");
        assert_eq!(derive_os_grain("Arch Linux", Some("arch")), "Arch");
    }

    #[test]
    fn os_release_quotes_and_escapes() {
        let r = parse_os_release("A='x y'\nB=\"a\\\"b\\$c\"\nC=\"unterminated\nbad line\nD=\n");
        assert_eq!(get(&r, "A"), Some("x y"));
        assert_eq!(get(&r, "B"), Some("a\"b$c"));
        assert_eq!(get(&r, "C"), Some("\"unterminated"));
        assert_eq!(get(&r, "D"), Some(""));
        assert_eq!(get(&r, "PRETTY_NAME"), Some("Linux"));
    }

    #[test]
    fn osrelease_info_conversion() {
        let g = osrelease_data("Debian", "Debian GNU/Linux", "12");
        assert_eq!(
            g.get(&Value::str("osfinger")),
            Some(&Value::str("Debian-12"))
        );
        let g = osrelease_data("Ubuntu", "Ubuntu", "22.04");
        assert_eq!(
            g.get(&Value::str("osrelease_info")),
            Some(&Value::List(vec![Value::Int(22), Value::Int(4)]))
        );
        assert_eq!(
            g.get(&Value::str("osfinger")),
            Some(&Value::str("Ubuntu-22.04"))
        );
        let g = osrelease_data("Arch", "Arch Linux", "rolling");
        assert!(g.get(&Value::str("osmajorrelease")).is_none());
        assert_eq!(
            g.get(&Value::str("osfinger")),
            Some(&Value::str("Arch Linux-rolling"))
        );
    }

    #[test]
    fn lsb_release_file() {
        let r = parse_lsb_release(
            "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION=\"Ubuntu 22.04.3 LTS\"\n",
        );
        assert_eq!(r[0], ("lsb_distrib_id".into(), "Ubuntu".into()));
        assert_eq!(
            r[3],
            (
                "lsb_distrib_description".into(),
                "Ubuntu 22.04.3 LTS".into()
            )
        );
    }

    #[test]
    fn distro_version_from_pretty_name() {
        assert_eq!(
            release_content_version("CentOS Linux release 7.9.2009 (Core)"),
            "7.9.2009"
        );
    }
}
