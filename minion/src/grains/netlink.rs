//! Interfaces, addresses and default routes read over rtnetlink, the same
//! kernel dumps `ip link show`, `ip addr show` and `ip -4/-6 route show`
//! print, without starting `ip` four times.
//!
//! The results are shaped as Salt's `ip` parser sees that output
//! ([`super::net::parse_ip_output`]): interfaces in link-dump order, the
//! address `ip` prints (`IFA_LOCAL`, else `IFA_ADDRESS`), IPv4 addresses
//! flagged `IFA_F_SECONDARY` as secondaries, the hardware address formatted
//! as `ip` formats it. A test compares both on this machine.

use super::net::{Addr, Iface};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_GETLINK: u16 = 18;
const RTM_NEWLINK: u16 = 16;
const RTM_GETADDR: u16 = 22;
const RTM_NEWADDR: u16 = 20;
const RTM_GETROUTE: u16 = 26;
const RTM_NEWROUTE: u16 = 24;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_F_SECONDARY: u8 = 0x01;
const RTA_GATEWAY: u16 = 5;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;
const RT_TABLE_MAIN: u32 = 254;
const RTN_UNICAST: u8 = 1;

const ARPHRD_TUNNEL: u16 = 768;
const ARPHRD_TUNNEL6: u16 = 769;
const ARPHRD_SIT: u16 = 776;
const ARPHRD_IPGRE: u16 = 778;
const ARPHRD_IP6GRE: u16 = 823;

/// Upper bound on the messages of one dump (bounded loops, even against a
/// misbehaving kernel interface).
const MAX_PARTS: usize = 100_000;

/// One netlink message of a dump: its type and payload.
struct Msg {
    kind: u16,
    body: Vec<u8>,
}

struct Socket(libc::c_int);

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is owned by this value and closed once.
        unsafe { libc::close(self.0) };
    }
}

/// Send one dump request (`kind` with the family-specific header `hdr`)
/// and collect every reply message until `NLMSG_DONE`.
fn dump(kind: u16, hdr: &[u8]) -> io::Result<Vec<Msg>> {
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let sock = Socket(fd);
    let len = NLMSG_HDRLEN + hdr.len();
    let mut req = Vec::with_capacity(len);
    req.extend_from_slice(&(len as u32).to_ne_bytes());
    req.extend_from_slice(&kind.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // seq
    req.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel
    req.extend_from_slice(hdr);
    // SAFETY: `req` is a valid buffer of `req.len()` bytes; the kernel is
    // the destination when no address is given on a netlink socket.
    let sent = unsafe { libc::send(sock.0, req.as_ptr().cast(), req.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..MAX_PARTS {
        // SAFETY: `buf` is writable for `buf.len()` bytes.
        let n = unsafe { libc::recv(sock.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut data = &buf[..n as usize];
        if data.is_empty() {
            return Ok(out);
        }
        while data.len() >= NLMSG_HDRLEN {
            let mlen = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
            let mkind = u16::from_ne_bytes([data[4], data[5]]);
            if mlen < NLMSG_HDRLEN || mlen > data.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "short netlink message",
                ));
            }
            match mkind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code = data
                        .get(NLMSG_HDRLEN..NLMSG_HDRLEN + 4)
                        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                        .unwrap_or(-libc::EIO);
                    return Err(io::Error::from_raw_os_error(-code));
                }
                _ => out.push(Msg {
                    kind: mkind,
                    body: data[NLMSG_HDRLEN..mlen].to_vec(),
                }),
            }
            let step = (mlen + 3) & !3;
            data = data.get(step..).unwrap_or(&[]);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "netlink dump too long",
    ))
}

/// The attributes after a fixed header of `skip` bytes: (type, payload).
fn attrs(body: &[u8], skip: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut data = body.get((skip + 3) & !3..).unwrap_or(&[]);
    while data.len() >= 4 {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let kind = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            break;
        }
        out.push((kind, &data[4..len]));
        data = data.get((len + 3) & !3..).unwrap_or(&[]);
    }
    out
}

fn attr<'a>(list: &[(u16, &'a [u8])], kind: u16) -> Option<&'a [u8]> {
    list.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v)
}

fn ip_text(family: u8, raw: &[u8]) -> Option<String> {
    match (family as i32, raw.len()) {
        (libc::AF_INET, 4) => Some(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).to_string()),
        (libc::AF_INET6, 16) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(raw);
            Some(Ipv6Addr::from(b).to_string())
        }
        _ => None,
    }
}

/// A hardware address as `ip` prints it (`ll_addr_n2a`).
fn hwaddr_text(link_type: u16, raw: &[u8]) -> String {
    if raw.len() == 4 && matches!(link_type, ARPHRD_TUNNEL | ARPHRD_SIT | ARPHRD_IPGRE) {
        return Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).to_string();
    }
    if raw.len() == 16 && matches!(link_type, ARPHRD_TUNNEL6 | ARPHRD_IP6GRE) {
        let mut b = [0u8; 16];
        b.copy_from_slice(raw);
        return Ipv6Addr::from(b).to_string();
    }
    raw.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Interfaces and their addresses, as Salt's parser of `ip link show` +
/// `ip addr show` yields them.
pub fn interfaces() -> io::Result<Vec<Iface>> {
    // ifinfomsg: family, pad, type, index, flags, change.
    let links = dump(RTM_GETLINK, &[0u8; 16])?;
    let mut ifaces: Vec<(i32, Iface)> = Vec::new();
    for m in links.iter().filter(|m| m.kind == RTM_NEWLINK) {
        if m.body.len() < 16 {
            continue;
        }
        let b = &m.body;
        let link_type = u16::from_ne_bytes([b[2], b[3]]);
        let index = i32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
        let flags = u32::from_ne_bytes([b[8], b[9], b[10], b[11]]);
        let a = attrs(b, 16);
        let Some(name) = attr(&a, IFLA_IFNAME) else {
            continue;
        };
        let name = String::from_utf8_lossy(name.split(|c| *c == 0).next().unwrap_or(&[]));
        let hwaddr = attr(&a, IFLA_ADDRESS)
            .filter(|raw| !raw.is_empty())
            .map(|raw| hwaddr_text(link_type, raw));
        let iface = Iface {
            name: name.into_owned(),
            up: flags & libc::IFF_UP as u32 != 0,
            hwaddr,
            ..Iface::default()
        };
        // Salt keeps a dict: the last entry of a name wins, in the first
        // entry's position.
        match ifaces.iter_mut().find(|(_, i)| i.name == iface.name) {
            Some(slot) => *slot = (index, iface),
            None => ifaces.push((index, iface)),
        }
    }
    // ifaddrmsg: family, prefixlen, flags, scope, index.
    let addrs = dump(RTM_GETADDR, &[0u8; 8])?;
    for m in addrs.iter().filter(|m| m.kind == RTM_NEWADDR) {
        if m.body.len() < 8 {
            continue;
        }
        let b = &m.body;
        let family = b[0];
        let flags = b[2];
        let index = i32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
        let a = attrs(b, 8);
        let Some(raw) = attr(&a, IFA_LOCAL).or_else(|| attr(&a, IFA_ADDRESS)) else {
            continue;
        };
        let Some(address) = ip_text(family, raw) else {
            continue;
        };
        let Some((_, iface)) = ifaces.iter_mut().find(|(i, _)| *i == index) else {
            continue;
        };
        let inet = family as i32 == libc::AF_INET;
        let addr = Addr {
            address,
            family: if inet { "inet" } else { "inet6" }.to_string(),
        };
        if inet && flags & IFA_F_SECONDARY != 0 {
            iface.secondary.push(addr);
        } else if inet {
            iface.inet.push(addr);
        } else {
            iface.inet6.push(addr);
        }
    }
    Ok(ifaces.into_iter().map(|(_, i)| i).collect())
}

/// What `ip -4 route show` (`v6` false) or `ip -6 route show` says about
/// the default route of the main table: `None` when there is none,
/// `Some(None)` for a default route without a gateway, `Some(Some(gw))`
/// for the first one's gateway.
pub fn default_route(v6: bool) -> io::Result<Option<Option<String>>> {
    let family = if v6 { libc::AF_INET6 } else { libc::AF_INET } as u8;
    // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type,
    // flags (u32).
    let mut hdr = [0u8; 12];
    hdr[0] = family;
    let routes = dump(RTM_GETROUTE, &hdr)?;
    for m in routes.iter().filter(|m| m.kind == RTM_NEWROUTE) {
        if m.body.len() < 12 {
            continue;
        }
        let b = &m.body;
        let a = attrs(b, 12);
        let table = attr(&a, RTA_TABLE)
            .filter(|t| t.len() == 4)
            .map(|t| u32::from_ne_bytes([t[0], t[1], t[2], t[3]]))
            .unwrap_or(b[4] as u32);
        // `ip route show` lists the main table; only unicast routes print
        // as a line starting with "default".
        if b[0] != family || table != RT_TABLE_MAIN || b[1] != 0 || b[7] != RTN_UNICAST {
            continue;
        }
        let gw = attr(&a, RTA_GATEWAY)
            .and_then(|raw| ip_text(family, raw))
            .or_else(|| {
                // RTA_VIA: family (u16) then the address.
                attr(&a, RTA_VIA).and_then(|raw| {
                    let fam = u16::from_ne_bytes([*raw.first()?, *raw.get(1)?]) as u8;
                    ip_text(fam, raw.get(2..)?)
                })
            });
        return Ok(Some(gw));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hwaddr_like_ip() {
        assert_eq!(hwaddr_text(1, &[2, 0xfc, 0, 0, 0, 1]), "02:fc:00:00:00:01");
        assert_eq!(hwaddr_text(ARPHRD_SIT, &[0, 0, 0, 0]), "0.0.0.0");
        assert_eq!(hwaddr_text(ARPHRD_IPGRE, &[10, 0, 0, 1]), "10.0.0.1");
    }

    #[test]
    fn attrs_stop_on_garbage() {
        // A length past the end and a zero length end the walk cleanly.
        assert!(attrs(&[0u8; 4], 0).is_empty());
        assert!(attrs(&[200, 0, 1, 0, 1, 2], 0).is_empty());
    }

    /// The netlink view equals Salt's parse of the real `ip` output on this
    /// machine (and in CI's).
    #[test]
    fn same_as_ip_on_this_machine() {
        let Some(ip) = super::super::sys::which("ip") else {
            return;
        };
        let run = |args: &[&str]| {
            std::process::Command::new(&ip)
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        let text = format!("{}\n{}", run(&["link", "show"]), run(&["addr", "show"]));
        let parsed = super::super::net::parse_ip_output(&text);
        assert_eq!(interfaces().expect("netlink dump"), parsed);
        for (v6, flag) in [(false, "-4"), (true, "-6")] {
            let out = run(&[flag, "route", "show"]);
            let line = out.lines().find(|l| l.starts_with("default"));
            let want = line.map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                (cols.len() >= 3 && cols[1] == "via").then(|| cols[2].to_string())
            });
            assert_eq!(default_route(v6).expect("route dump"), want, "{flag}");
        }
    }
}
