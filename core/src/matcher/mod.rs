//! Targeting: does a target expression match this minion?
//! (glob, pcre, list, grain, grain_pcre, pillar, ipcidr, compound, nodegroup)
//!
//! Each matcher follows its `salt/matchers/<type>_match.py` counterpart:
//! - [`fnmatch`]: Python's `fnmatch` (globs on ids, grain values, SLS names).
//! - [`subdict`]: `subdict_match` for grain/pillar `key:sub:value` targets.
//! - [`compound`]: the compound parser and nodegroup expansion.

pub mod compound;
pub mod fnmatch;
pub mod subdict;

use crate::value::Value;
use std::net::IpAddr;

/// What a minion knows about itself for matching.
pub struct MatchContext<'a> {
    pub id: &'a str,
    pub grains: &'a Value,
    pub pillar: &'a Value,
    /// `nodegroups` from config (a map), or Null.
    pub nodegroups: &'a Value,
}

/// Whether `tgt` of type `tgt_type` ("glob", "pcre", "list", "grain",
/// "grain_pcre", "pillar", "pillar_pcre", "ipcidr", "compound", "nodegroup")
/// matches. An invalid expression is an error.
pub fn matches(tgt: &Value, tgt_type: &str, ctx: &MatchContext) -> Result<bool, String> {
    match tgt_type {
        "compound" => compound::compound(tgt, ctx),
        "nodegroup" => {
            let Some(name) = tgt.as_str() else {
                return Ok(false);
            };
            if !ctx.nodegroups.truthy() || ctx.nodegroups.get(name).is_none() {
                return Ok(false);
            }
            match compound::nodegroup_comp(name, ctx.nodegroups) {
                compound::Expansion::Words(w) => {
                    compound::compound(&Value::List(w.into_iter().map(Value::Str).collect()), ctx)
                }
                compound::Expansion::Empty => Ok(false),
            }
        }
        other => match_with_delimiter(tgt, other, ":", ctx),
    }
}

/// A single (non-compound) matcher with an explicit delimiter.
pub fn match_with_delimiter(
    tgt: &Value,
    tgt_type: &str,
    delimiter: &str,
    ctx: &MatchContext,
) -> Result<bool, String> {
    match tgt_type {
        "glob" => Ok(tgt.as_str().is_some_and(|t| fnmatch::fnmatch(ctx.id, t))),
        "pcre" => {
            let t = tgt.as_str().ok_or("pcre target must be a string")?;
            let re = regex::Regex::new(&format!("^(?:{t})"))
                .map_err(|e| format!("Invalid regex '{t}': {e}"))?;
            Ok(re.is_match(ctx.id))
        }
        "list" => Ok(match tgt {
            Value::Str(t) => {
                let id = ctx.id;
                t.contains(&format!(",{id},"))
                    || t.starts_with(&format!("{id},"))
                    || t.ends_with(&format!(",{id}"))
                    || t == id
            }
            Value::List(l) => l.iter().any(|x| x.as_str() == Some(ctx.id)),
            _ => false,
        }),
        "grain" | "grain_pcre" | "pillar" | "pillar_pcre" => {
            let Some(t) = tgt.as_str() else {
                return Ok(false);
            };
            if !t.contains(delimiter) {
                return Ok(false);
            }
            let data = if tgt_type.starts_with("grain") {
                ctx.grains
            } else {
                ctx.pillar
            };
            Ok(subdict::subdict_match(
                data,
                t,
                delimiter,
                tgt_type.ends_with("pcre"),
            ))
        }
        "ipcidr" => Ok(ipcidr(tgt.as_str().unwrap_or(""), ctx.grains)),
        "compound" | "nodegroup" => matches(tgt, tgt_type, ctx),
        other => Err(format!("'{other}_match.match' is not available.")),
    }
}

/// A parsed `ipaddress.ip_network` (strict: no host bits set).
fn parse_network(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u8>().ok()?),
        None => {
            let a = s.parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    if len > bits {
        return None;
    }
    if (to_u128(addr) & !mask(len, bits)) != 0 {
        return None;
    }
    Some((addr, len))
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    }
}

fn mask(len: u8, bits: u8) -> u128 {
    if len == 0 {
        return 0;
    }
    let all: u128 = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    let host: u128 = (1u128 << (bits - len)) - 1;
    all & !host
}

/// `ipcidr_match.match`: an address is looked up in `grains[ipv4|ipv6]`, a
/// network matches when any of those addresses is inside it.
pub fn ipcidr(tgt: &str, grains: &Value) -> bool {
    if let Ok(addr) = tgt.parse::<IpAddr>() {
        let proto = if addr.is_ipv4() { "ipv4" } else { "ipv6" };
        return match grains.get(proto) {
            Some(Value::List(l)) => l.iter().any(|x| x.as_str() == Some(&addr.to_string())),
            Some(Value::Str(s)) => s.contains(&addr.to_string()),
            _ => false,
        };
    }
    let Some((net, len)) = parse_network(tgt) else {
        return false;
    };
    let proto = if net.is_ipv4() { "ipv4" } else { "ipv6" };
    let bits = if net.is_ipv4() { 32 } else { 128 };
    let addrs: Vec<&Value> = match grains.get(proto) {
        Some(Value::List(l)) => l.iter().collect(),
        Some(v @ Value::Str(_)) => vec![v],
        _ => return false,
    };
    let m = mask(len, bits);
    addrs
        .iter()
        .filter_map(|a| a.as_str()?.parse::<IpAddr>().ok())
        .any(|a| a.is_ipv4() == net.is_ipv4() && (to_u128(a) & m) == (to_u128(net) & m))
}

#[cfg(test)]
mod tests;
