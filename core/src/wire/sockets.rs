//! ZeroMQ sockets for Salt's two channels, configured explicitly (libzmq via
//! the `zmq` crate; see docs/dependencies.md): every socket Brine opens gets
//! a maximum message size, high-water marks, TCP keepalive and reconnect
//! intervals from [`SocketOpts`], never libzmq's unbounded defaults.

use crate::value::{Map, Value};

/// The transport settings a socket is created with. [`SocketOpts::from_opts`]
/// reads Salt's option names from a master or minion config.
#[derive(Debug, Clone)]
pub struct SocketOpts {
    /// Largest message accepted from a peer (ZMQ_MAXMSGSIZE). Salt's
    /// `max_message_size` option; 100 MiB by default.
    pub max_msg_size: i64,
    /// Send and receive high-water marks (Salt's `pub_hwm`, 1000).
    pub hwm: i32,
    /// `tcp_keepalive` (-1: OS default, 0: off, 1: on) and its idle, count
    /// and interval settings (-1: OS default).
    pub tcp_keepalive: i32,
    pub tcp_keepalive_idle: i32,
    pub tcp_keepalive_cnt: i32,
    pub tcp_keepalive_intvl: i32,
    /// Reconnect interval and its maximum, in milliseconds (`recon_default`,
    /// `recon_max`).
    pub reconnect_ivl: i32,
    pub reconnect_ivl_max: i32,
    /// Listen backlog (`zmq_backlog`).
    pub backlog: i32,
    /// Whether IPv6 is enabled (`ipv6`).
    pub ipv6: bool,
}

impl Default for SocketOpts {
    fn default() -> Self {
        SocketOpts {
            max_msg_size: 100 * 1024 * 1024,
            hwm: 1000,
            tcp_keepalive: 1,
            tcp_keepalive_idle: 300,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_intvl: -1,
            reconnect_ivl: 1000,
            reconnect_ivl_max: 10000,
            backlog: 1000,
            ipv6: false,
        }
    }
}

fn int_opt(opts: &Map, key: &str, default: i64) -> i64 {
    match opts.get(&Value::from(key)) {
        Some(Value::Int(i)) => (*i).clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        Some(Value::Float(f)) => *f as i64,
        _ => default,
    }
}

impl SocketOpts {
    /// Settings from a Salt config map, Salt's defaults for missing keys.
    pub fn from_opts(opts: &Map) -> SocketOpts {
        let d = SocketOpts::default();
        let i32_opt = |k: &str, v: i32| {
            int_opt(opts, k, v as i64).clamp(i32::MIN as i64, i32::MAX as i64) as i32
        };
        SocketOpts {
            max_msg_size: int_opt(opts, "max_message_size", d.max_msg_size).max(1),
            hwm: i32_opt("pub_hwm", d.hwm),
            tcp_keepalive: i32_opt("tcp_keepalive", d.tcp_keepalive),
            tcp_keepalive_idle: i32_opt("tcp_keepalive_idle", d.tcp_keepalive_idle),
            tcp_keepalive_cnt: i32_opt("tcp_keepalive_cnt", d.tcp_keepalive_cnt),
            tcp_keepalive_intvl: i32_opt("tcp_keepalive_intvl", d.tcp_keepalive_intvl),
            reconnect_ivl: i32_opt("recon_default", d.reconnect_ivl),
            reconnect_ivl_max: i32_opt("recon_max", d.reconnect_ivl_max),
            backlog: i32_opt("zmq_backlog", d.backlog),
            ipv6: matches!(opts.get(&Value::from("ipv6")), Some(Value::Bool(true))),
        }
    }
}

/// A socket of `kind` with every limit of `so` applied and linger 0 (a
/// closing socket never blocks the process on unsent messages).
pub fn socket(
    ctx: &zmq::Context,
    kind: zmq::SocketType,
    so: &SocketOpts,
) -> zmq::Result<zmq::Socket> {
    let s = ctx.socket(kind)?;
    s.set_linger(0)?;
    s.set_maxmsgsize(so.max_msg_size)?;
    s.set_sndhwm(so.hwm)?;
    s.set_rcvhwm(so.hwm)?;
    s.set_tcp_keepalive(so.tcp_keepalive)?;
    s.set_tcp_keepalive_idle(so.tcp_keepalive_idle)?;
    s.set_tcp_keepalive_cnt(so.tcp_keepalive_cnt)?;
    s.set_tcp_keepalive_intvl(so.tcp_keepalive_intvl)?;
    s.set_reconnect_ivl(so.reconnect_ivl)?;
    s.set_reconnect_ivl_max(so.reconnect_ivl_max)?;
    s.set_backlog(so.backlog)?;
    s.set_ipv6(so.ipv6)?;
    Ok(s)
}

/// `tcp://host:port`, with IPv6 literals bracketed.
pub fn tcp_endpoint(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("tcp://[{host}]:{port}")
    } else {
        format!("tcp://{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_come_from_salt_names() {
        let mut m = Map::default();
        m.insert(Value::from("max_message_size"), Value::Int(4096));
        m.insert(Value::from("recon_max"), Value::Int(2500));
        let so = SocketOpts::from_opts(&m);
        assert_eq!(so.max_msg_size, 4096);
        assert_eq!(so.reconnect_ivl_max, 2500);
        assert_eq!(so.hwm, 1000);
        let ctx = zmq::Context::new();
        let s = socket(&ctx, zmq::ROUTER, &so).unwrap();
        assert_eq!(s.get_maxmsgsize().unwrap(), 4096);
        assert_eq!(s.get_reconnect_ivl_max().unwrap(), 2500);
        assert_eq!(tcp_endpoint("::1", 5), "tcp://[::1]:5");
        assert_eq!(tcp_endpoint("127.0.0.1", 5), "tcp://127.0.0.1:5");
    }
}
