//! Network grains: interfaces and addresses (parsed from `ip link show` /
//! `ip addr show` exactly as `salt.utils.network._interfaces_ip` does),
//! host names and FQDNs, `dns` from resolv.conf, and the default gateways.

use brine_core::{Map, Value};
use regex::Regex;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{set, sys};

/// One address of an interface.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Addr {
    pub address: String,
    /// "inet" or "inet6"
    pub family: String,
}

/// An interface as Salt's parser sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Iface {
    pub name: String,
    pub up: bool,
    pub hwaddr: Option<String>,
    pub inet: Vec<Addr>,
    pub inet6: Vec<Addr>,
    pub secondary: Vec<Addr>,
}

/// `_interfaces_ip` on the concatenated `ip link show` + `ip addr show`
/// output. Interfaces keep the order of their first appearance; the data of
/// the last group with the same name wins (as with a Python dict).
pub fn parse_ip_output(out: &str) -> Vec<Iface> {
    let mut ret: Vec<Iface> = Vec::new();
    let split = Regex::new(r"\r?\n\d").expect("static regex");
    let head = Regex::new(r"^\d*:\s+([\w.\-]+)(?:@)?([\w.\-]+)?:\s+<(.+)>").expect("static regex");
    for group in split.split(out) {
        let mut iface: Option<String> = None;
        let mut data = Iface::default();
        for line in group.lines() {
            if !line.contains(' ') {
                continue;
            }
            if let Some(c) = head.captures(line) {
                iface = Some(c[1].to_string());
                data.up = c[3].split(',').any(|a| a == "UP");
                continue;
            }
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 2 {
                continue;
            }
            let (type_, value) = (cols[0], cols[1]);
            if type_ == "inet" || type_ == "inet6" {
                let ip = value.split('/').next().unwrap_or(value).to_string();
                let addr = Addr {
                    address: ip,
                    family: type_.to_string(),
                };
                if cols.contains(&"secondary") {
                    data.secondary.push(addr);
                } else if type_ == "inet" {
                    data.inet.push(addr);
                } else {
                    data.inet6.push(addr);
                }
            } else if type_.starts_with("link") {
                data.hwaddr = Some(value.to_string());
            }
        }
        if let Some(name) = iface {
            data.name = name.clone();
            if let Some(slot) = ret.iter_mut().find(|i| i.name == name) {
                *slot = data;
            } else {
                ret.push(data);
            }
        }
    }
    ret
}

/// The interfaces of this machine (`salt.utils.network.linux_interfaces`,
/// `ip` variant only: Salt needs `ip` installed). Read over rtnetlink
/// ([`super::netlink`]); the `ip` commands are the fallback.
pub fn interfaces() -> Vec<Iface> {
    let Some(ip) = sys::which("ip") else {
        return Vec::new();
    };
    if let Ok(ifaces) = super::netlink::interfaces() {
        return ifaces;
    }
    let ip = ip.to_string_lossy().into_owned();
    let link = sys::run(&ip, &["link", "show"], true)
        .map(|o| o.stdout)
        .unwrap_or_default();
    let addr = sys::run(&ip, &["addr", "show"], true)
        .map(|o| o.stdout)
        .unwrap_or_default();
    parse_ip_output(&format!("{link}\n{addr}"))
}

fn addr_list(items: impl Iterator<Item = String>) -> Value {
    Value::List(items.map(Value::Str).collect())
}

/// ip4_interfaces / ip6_interfaces / ip_interfaces / hwaddr_interfaces.
pub fn interface_grains(ifaces: &[Iface], which: &str) -> Value {
    let mut m = Map::default();
    for i in ifaces {
        let v = match which {
            "ip4" => addr_list(
                i.inet
                    .iter()
                    .chain(i.secondary.iter().filter(|a| a.family == "inet"))
                    .map(|a| a.address.clone()),
            ),
            "ip6" => addr_list(
                i.inet6
                    .iter()
                    .chain(i.secondary.iter().filter(|a| a.family == "inet6"))
                    .map(|a| a.address.clone()),
            ),
            "ip" => addr_list(
                i.inet
                    .iter()
                    .chain(i.inet6.iter())
                    .chain(i.secondary.iter())
                    .map(|a| a.address.clone()),
            ),
            _ => match &i.hwaddr {
                Some(h) => Value::str(h.clone()),
                None => continue,
            },
        };
        set(&mut m, &i.name, v);
    }
    Value::Map(m)
}

/// `salt.utils.network.ip_addrs` / `ip_addrs6`: unique, numerically sorted.
pub fn ip_addrs(ifaces: &[Iface], v6: bool, include_loopback: bool) -> Vec<String> {
    let fam = if v6 { "inet6" } else { "inet" };
    if v6 {
        let mut set6: BTreeSet<Ipv6Addr> = BTreeSet::new();
        for i in ifaces {
            for a in i.inet6.iter().chain(i.secondary.iter()) {
                if a.family != fam {
                    continue;
                }
                let base = a.address.split('%').next().unwrap_or("");
                if let Ok(ip) = base.parse::<Ipv6Addr>() {
                    if include_loopback || !ip.is_loopback() {
                        set6.insert(ip);
                    }
                }
            }
        }
        set6.iter().map(|i| i.to_string()).collect()
    } else {
        let mut set4: BTreeSet<Ipv4Addr> = BTreeSet::new();
        for i in ifaces {
            for a in i.inet.iter().chain(i.secondary.iter()) {
                if a.family != fam {
                    continue;
                }
                if let Ok(ip) = a.address.parse::<Ipv4Addr>() {
                    if include_loopback || !ip.is_loopback() {
                        set4.insert(ip);
                    }
                }
            }
        }
        set4.iter().map(|i| i.to_string()).collect()
    }
}

/// `salt.utils.network.get_fqhostname`.
pub fn fqhostname() -> String {
    let host = sys::gethostname();
    let mut fqdn = sys::getfqdn("");
    if let Ok(infos) = sys::getaddrinfo(
        &host,
        libc::AF_UNSPEC,
        libc::SOCK_STREAM,
        libc::IPPROTO_TCP,
        libc::AI_CANONNAME,
    ) {
        for i in infos {
            if let Some(c) = i.canonname.filter(|c| !c.is_empty()) {
                fqdn = c;
            }
        }
    }
    if fqdn.is_empty() {
        "localhost.localdomain".into()
    } else {
        fqdn
    }
}

/// `fqdn_ip4` / `fqdn_ip6`: addresses of the FQDN (sorted; Salt's order
/// comes from a Python set and is arbitrary).
pub fn fqdn_ips(fqdn: &str, v6: bool) -> Vec<String> {
    let family = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    let mut out: BTreeSet<String> = BTreeSet::new();
    if let Ok(infos) = sys::getaddrinfo(fqdn, family, 0, 0, 0) {
        for i in infos {
            out.insert(i.addr.to_string());
        }
    }
    out.into_iter().collect()
}

/// `network.fqdns`: reverse names of all non-loopback addresses.
pub fn fqdns(ifaces: &[Iface]) -> Vec<String> {
    let mut addrs: Vec<IpAddr> = Vec::new();
    for s in ip_addrs(ifaces, false, false) {
        if let Ok(ip) = s.parse() {
            addrs.push(ip);
        }
    }
    for s in ip_addrs(ifaces, true, false) {
        if let Ok(ip) = s.parse() {
            addrs.push(ip);
        }
    }
    let handles: Vec<_> = addrs
        .into_iter()
        .map(|ip| std::thread::spawn(move || sys::reverse_name(ip).map(|name| sys::getfqdn(&name))))
        .collect();
    let mut out: BTreeSet<String> = BTreeSet::new();
    for h in handles {
        if let Ok(Some(name)) = h.join() {
            out.insert(name);
        }
    }
    out.into_iter().collect()
}

/// `salt.utils.dns.parse_resolv`; `None` when the file cannot be read.
pub fn parse_resolv(text: &str) -> Map {
    let mut nameservers: Vec<String> = Vec::new();
    let mut ip4: Vec<String> = Vec::new();
    let mut ip6: Vec<String> = Vec::new();
    let mut search: Vec<String> = Vec::new();
    let mut sortlist: Vec<String> = Vec::new();
    let mut domain = String::new();
    let mut options: Vec<String> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = words.first() else { continue };
        let directive = first.to_lowercase();
        let arg: Vec<&str> = words[1..]
            .iter()
            .take_while(|w| !w.starts_with('#') && !w.starts_with(';'))
            .copied()
            .collect();
        match directive.as_str() {
            "nameserver" => {
                let Some(addr) = arg.first() else { continue };
                let (base, zone) = match addr.split_once('%') {
                    Some((b, z)) => (b, Some(z)),
                    None => (*addr, None),
                };
                if let Ok(v4) = base.parse::<Ipv4Addr>() {
                    if zone.is_some() {
                        continue;
                    }
                    let s = v4.to_string();
                    if !nameservers.contains(&s) {
                        nameservers.push(s.clone());
                    }
                    if !ip4.contains(&s) {
                        ip4.push(s);
                    }
                } else if let Ok(v6) = base.parse::<Ipv6Addr>() {
                    let s = match zone {
                        Some(z) => format!("{v6}%{z}"),
                        None => v6.to_string(),
                    };
                    if !nameservers.contains(&s) {
                        nameservers.push(s.clone());
                    }
                    if !ip6.contains(&s) {
                        ip6.push(s);
                    }
                }
            }
            "domain" => {
                if let Some(d) = arg.first() {
                    domain = d.to_string();
                }
            }
            "search" => search = arg.iter().map(|s| s.to_string()).collect(),
            "sortlist" => {
                for raw in &arg {
                    if let Some(net) = sortlist_entry(raw) {
                        if !sortlist.contains(&net) {
                            sortlist.push(net);
                        }
                    }
                }
            }
            "options" => {
                if let Some(o) = arg.first() {
                    if !options.iter().any(|x| x == o) {
                        options.push(o.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let list = |v: Vec<String>| Value::List(v.into_iter().map(Value::Str).collect());
    let mut m = Map::default();
    set(&mut m, "nameservers", list(nameservers));
    set(&mut m, "ip4_nameservers", list(ip4));
    set(&mut m, "ip6_nameservers", list(ip6));
    set(&mut m, "sortlist", list(sortlist));
    set(&mut m, "domain", Value::Str(domain));
    set(&mut m, "search", list(search));
    set(&mut m, "options", list(options));
    m
}

/// One IPv4 sortlist entry as `ipaddress.ip_network(...).with_netmask`
/// (strict: host bits must be zero).
fn sortlist_entry(raw: &str) -> Option<String> {
    let (ip, mask) = match raw.split_once('/') {
        Some((ip, m)) => (ip.parse::<Ipv4Addr>().ok()?, Some(m)),
        None => (raw.parse::<Ipv4Addr>().ok()?, None),
    };
    let prefix: u32 = match mask {
        Some(m) => match m.parse::<u32>() {
            Ok(p) if p <= 32 => p,
            _ => {
                let mm: Ipv4Addr = m.parse().ok()?;
                u32::from(mm).count_ones()
            }
        },
        None => {
            // natural netmask of the class (strict network check first)
            32
        }
    };
    let bits = u32::from(ip);
    let maskbits = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    if bits & !maskbits != 0 {
        return None;
    }
    let (ip, maskbits) = if mask.is_none() {
        let first = ip.octets()[0];
        let nat: u32 = if first < 128 {
            8
        } else if first < 192 {
            16
        } else if first < 224 {
            24
        } else {
            32
        };
        let mb = if nat == 0 { 0 } else { u32::MAX << (32 - nat) };
        (Ipv4Addr::from(bits & mb), mb)
    } else {
        (ip, maskbits)
    };
    Some(format!("{}/{}", ip, Ipv4Addr::from(maskbits)))
}

/// `dns` grain.
pub fn dns() -> Option<Map> {
    let path = if std::path::Path::new("/run/systemd/resolve/resolv.conf").exists() {
        "/run/systemd/resolve/resolv.conf"
    } else {
        "/etc/resolv.conf"
    };
    let bytes = std::fs::read(path).ok()?;
    Some(parse_resolv(&String::from_utf8_lossy(&bytes)))
}

/// `default_gateway`: ip_gw, ip4_gw, ip6_gw from `ip -4/-6 route show`.
pub fn default_gateway() -> Option<Map> {
    let ip = sys::which("ip")?;
    let ip = ip.to_string_lossy().into_owned();
    let mut g = Map::default();
    set(&mut g, "ip_gw", Value::Bool(false));
    set(&mut g, "ip4_gw", Value::Bool(false));
    set(&mut g, "ip6_gw", Value::Bool(false));
    for v in ["4", "6"] {
        let route = match super::netlink::default_route(v == "6") {
            Ok(r) => r,
            Err(_) => {
                let flag = format!("-{v}");
                let Some(out) = sys::run(&ip, &[&flag, "route", "show"], true) else {
                    continue;
                };
                out.stdout
                    .lines()
                    .find(|l| l.starts_with("default"))
                    .map(|l| {
                        let cols: Vec<&str> = l.split_whitespace().collect();
                        (cols.len() >= 3 && cols[1] == "via").then(|| cols[2].to_string())
                    })
            }
        };
        if let Some(gw) = route {
            set(&mut g, "ip_gw", Value::Bool(true));
            let key = format!("ip{v}_gw");
            set(&mut g, &key, Value::Bool(true));
            if let Some(gw) = gw {
                set(&mut g, &key, Value::Str(gw));
            }
        }
    }
    Some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP mode DEFAULT group default qlen 1000
    link/ether 02:fc:00:00:00:01 brd ff:ff:ff:ff:ff:ff
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
    inet6 ::1/128 scope host 
2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc pfifo_fast state UP group default qlen 1000
    link/ether 02:fc:00:00:00:01 brd ff:ff:ff:ff:ff:ff
    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0
    inet 10.0.0.9/8 scope global secondary eth0
    inet 10.0.0.1/8 scope global eth0
    inet6 fe80::fc:ff:fe00:1/64 scope link 
";

    #[test]
    fn ip_parser() {
        let ifs = parse_ip_output(SAMPLE);
        assert_eq!(ifs.len(), 2);
        assert_eq!(ifs[1].name, "eth0");
        assert_eq!(ifs[1].hwaddr.as_deref(), Some("02:fc:00:00:00:01"));
        assert_eq!(ifs[1].inet.len(), 2);
        assert_eq!(ifs[1].secondary.len(), 1);
        assert_eq!(
            ip_addrs(&ifs, false, true),
            vec!["10.0.0.1", "10.0.0.9", "127.0.0.1", "192.0.2.2"]
        );
        assert_eq!(ip_addrs(&ifs, true, false), vec!["fe80::fc:ff:fe00:1"]);
        let ip4 = interface_grains(&ifs, "ip4");
        assert_eq!(
            ip4.get("eth0"),
            Some(&Value::List(vec![
                Value::str("192.0.2.2"),
                Value::str("10.0.0.1"),
                Value::str("10.0.0.9")
            ]))
        );
    }

    #[test]
    fn resolv() {
        let m = parse_resolv(
            "# c\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver 10.0.0.1\nsearch a.example b.example # x\noptions ndots:2 rotate\nsortlist 130.155.160.0/255.255.240.0 130.155.0.0\n",
        );
        let v = Value::Map(m);
        assert_eq!(
            v.get("nameservers"),
            Some(&Value::List(vec![
                Value::str("10.0.0.1"),
                Value::str("fe80::1%eth0")
            ]))
        );
        assert_eq!(
            v.get("search"),
            Some(&Value::List(vec![
                Value::str("a.example"),
                Value::str("b.example")
            ]))
        );
        assert_eq!(
            v.get("options"),
            Some(&Value::List(vec![Value::str("ndots:2")]))
        );
        assert_eq!(
            v.get("sortlist"),
            Some(&Value::List(vec![
                Value::str("130.155.160.0/255.255.240.0"),
                Value::str("130.155.0.0/255.255.0.0")
            ]))
        );
    }
}
