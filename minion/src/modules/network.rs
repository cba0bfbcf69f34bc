//! `network` (salt/modules/network.py): `ip_addrs` from the interface
//! grains (`ip4_interfaces`), filtered by interface, loopback, CIDR and
//! public/private type, sorted as Salt returns them.

use super::{bind, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use std::net::Ipv4Addr;

pub const FUNCTIONS: &[(&str, ModFn)] = &[("ip_addrs", ip_addrs)];

fn parse_cidr(cidr: &str) -> Option<(Ipv4Addr, u32)> {
    let (net, len) = cidr.split_once('/').unwrap_or((cidr, "32"));
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((net.parse().ok()?, len))
}

/// Whether `ip` is inside `cidr` (`salt.utils.network.in_subnet`).
pub fn in_subnet(cidr: &str, ip: &Ipv4Addr) -> bool {
    let Some((net, len)) = parse_cidr(cidr) else {
        return false;
    };
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (u32::from(*ip) & mask) == (u32::from(net) & mask)
}

/// Python's `ipaddress.IPv4Address.is_private`.
pub fn is_private(ip: &Ipv4Addr) -> bool {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/29",
        "192.0.0.170/31",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "255.255.255.255/32",
    ]
    .iter()
    .any(|c| in_subnet(c, ip))
}

fn ip_addrs(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "network.ip_addrs",
        &["interface", "include_loopback", "cidr", "type"],
        0,
        false,
        false,
        args,
        kwargs,
    )?;
    // A name, a list of names, or globs (`_filter_interfaces`).
    let interface: Option<Vec<String>> = b.opt(0).map(|v| match v {
        Value::List(l) => l.iter().map(str_of).collect(),
        other => vec![str_of(other)],
    });
    let include_loopback = b.opt(1).is_some_and(Value::truthy);
    let mut addrs: Vec<Ipv4Addr> = Vec::new();
    if let Some(Value::Map(ifaces)) = ctx.grains().get("ip4_interfaces") {
        for (name, ips) in ifaces {
            let name = str_of(name);
            if interface
                .as_ref()
                .is_some_and(|pats| !pats.iter().any(|p| brine_core::config::fnmatch(&name, p)))
            {
                continue;
            }
            for ip in ips.as_list().into_iter().flatten() {
                let Some(ip) = ip.as_str().and_then(|s| s.parse::<Ipv4Addr>().ok()) else {
                    continue;
                };
                if ip.is_loopback() && !include_loopback {
                    continue;
                }
                if !addrs.contains(&ip) {
                    addrs.push(ip);
                }
            }
        }
    }
    addrs.sort();
    if let Some(cidr) = b.str(2) {
        addrs.retain(|ip| in_subnet(&cidr, ip));
    } else {
        match b.str(3).as_deref() {
            Some("public") => addrs.retain(|ip| !is_private(ip)),
            Some("private") => addrs.retain(is_private),
            _ => {}
        }
    }
    Ok(Value::List(
        addrs
            .into_iter()
            .map(|ip| Value::Str(ip.to_string()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_like_salt() {
        let mut ifaces = Map::default();
        ifaces.insert(
            Value::from("lo"),
            Value::List(vec![Value::from("127.0.0.1")]),
        );
        ifaces.insert(
            Value::from("eth0"),
            Value::List(vec![Value::from("10.0.0.5"), Value::from("8.8.8.8")]),
        );
        let mut grains = Map::default();
        grains.insert(Value::from("ip4_interfaces"), Value::Map(ifaces));
        let ctx = Context::new(Value::map()).with_grains(Value::Map(grains));
        let all = ip_addrs(&ctx, vec![], Map::default()).unwrap();
        assert_eq!(
            all,
            Value::List(vec![Value::from("8.8.8.8"), Value::from("10.0.0.5")])
        );
        let mut kw = Map::default();
        kw.insert(Value::from("type"), Value::from("private"));
        kw.insert(Value::from("include_loopback"), Value::Bool(true));
        let private = ip_addrs(&ctx, vec![], kw).unwrap();
        assert_eq!(
            private,
            Value::List(vec![Value::from("10.0.0.5"), Value::from("127.0.0.1")])
        );
        let cidr = ip_addrs(
            &ctx,
            vec![Value::Null, Value::Bool(false), Value::from("10.0.0.0/8")],
            Map::default(),
        )
        .unwrap();
        assert_eq!(cidr, Value::List(vec![Value::from("10.0.0.5")]));
    }
}
