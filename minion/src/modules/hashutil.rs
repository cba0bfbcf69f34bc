//! `hashutil` (salt/modules/hashutil.py): digests and base64 of strings.

use super::{bind, Context, ModFn};
use brine_core::jinja::hashes;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("md5_digest", md5_digest),
    ("sha256_digest", sha256_digest),
    ("sha512_digest", sha512_digest),
    ("base64_b64encode", b64encode),
    ("base64_b64decode", b64decode),
    ("base64_encodestring", b64encode),
];

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 decoding (`=` padding optional, whitespace ignored);
/// `None` for invalid input.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|&x| x == c)? as u32;
        bits = bits << 6 | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits & 0xff) as u8);
        }
    }
    Some(out)
}

fn input(fun: &str, args: Vec<Value>, kwargs: Map) -> Result<Vec<u8>, String> {
    let b = bind(fun, &["instr"], 1, false, false, args, kwargs)?;
    Ok(match b.get(0, Value::Null) {
        Value::Bytes(b) => b,
        other => str_of(&other).into_bytes(),
    })
}

fn md5_digest(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let d = input("hashutil.md5_digest", args, kwargs)?;
    Ok(Value::Str(hashes::hex(&hashes::md5(&d))))
}

fn sha256_digest(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let d = input("hashutil.sha256_digest", args, kwargs)?;
    Ok(Value::Str(hashes::hex(&hashes::sha256(&d))))
}

fn sha512_digest(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let d = input("hashutil.sha512_digest", args, kwargs)?;
    Ok(Value::Str(hashes::hex(&hashes::sha512(&d))))
}

fn b64encode(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let d = input("hashutil.base64_b64encode", args, kwargs)?;
    Ok(Value::Str(b64_encode(&d)))
}

fn b64decode(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let d = input("hashutil.base64_b64decode", args, kwargs)?;
    let s = String::from_utf8_lossy(&d);
    let bytes = b64_decode(&s).ok_or("Incorrect padding")?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => Value::Str(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        assert_eq!(b64_encode(b"hello world"), "aGVsbG8gd29ybGQ=");
        assert_eq!(b64_encode(b"ab"), "YWI=");
        assert_eq!(b64_decode("aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert!(b64_decode("a*b").is_none());
    }
}
