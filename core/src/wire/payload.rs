//! Salt's payload serialisation (salt/payload.py): msgpack, as
//! `salt.payload.dumps` packs and `salt.payload.loads` unpacks.
//!
//! - [`dumps`] packs like `msgpack.packb(obj, use_bin_type=False)`: strings
//!   and bytes both become msgpack "raw" (str8 is not used, as in the old
//!   spec), integers take their smallest encoding, floats are float64,
//!   integers beyond 64 bits become their decimal string (Salt's
//!   `verylong_encoder`). [`dumps_bin`] is the `use_bin_type=True` variant.
//! - [`loads`] unpacks like `loads(msg)`: raw then `decode_embedded_strs`,
//!   so every str/bin that is valid UTF-8 becomes a string and the rest
//!   stays bytes; the datetime extension (78) becomes its text.
//!
//! Input from the network is untrusted: [`loads`] never allocates more
//! than the message could hold, bounds nesting depth, rejects trailing
//! bytes and never panics.

use crate::value::{Map, Value};
use thiserror::Error;

/// Why a payload could not be unpacked.
#[derive(Debug, Error, PartialEq)]
pub enum PayloadError {
    #[error("truncated msgpack data")]
    Truncated,
    #[error("msgpack data nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("invalid msgpack type byte 0x{0:02x}")]
    BadType(u8),
    #[error("unhashable map key (a {0})")]
    BadKey(&'static str),
    #[error("{0} trailing bytes after the msgpack object")]
    Trailing(usize),
}

/// Deepest nesting accepted by [`loads`].
pub const MAX_DEPTH: usize = 512;

/// `salt.payload.dumps(obj)`.
pub fn dumps(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    pack(v, false, &mut out);
    out
}

/// `salt.payload.dumps(obj, use_bin_type=True)`.
pub fn dumps_bin(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    pack(v, true, &mut out);
    out
}

fn pack(v: &Value, bin: bool, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0xc0),
        Value::Bool(false) => out.push(0xc2),
        Value::Bool(true) => out.push(0xc3),
        Value::Int(i) => pack_int(*i, bin, out),
        Value::Float(f) => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::Str(s) => pack_raw(s.as_bytes(), bin, out),
        Value::Bytes(b) if bin => {
            let n = b.len();
            if n <= 0xff {
                out.push(0xc4);
                out.push(n as u8);
            } else if n <= 0xffff {
                out.push(0xc5);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            } else {
                out.push(0xc6);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            out.extend_from_slice(b);
        }
        Value::Bytes(b) => pack_raw(b, bin, out),
        Value::List(l) => {
            pack_len(l.len(), 0x90, 0xdc, out);
            for x in l {
                pack(x, bin, out);
            }
        }
        Value::Map(m) => {
            pack_len(m.len(), 0x80, 0xde, out);
            for (k, x) in m {
                pack(k, bin, out);
                pack(x, bin, out);
            }
        }
    }
}

fn pack_len(n: usize, fix: u8, wide: u8, out: &mut Vec<u8>) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(wide);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(wide + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn pack_raw(b: &[u8], bin: bool, out: &mut Vec<u8>) {
    let n = b.len();
    if n <= 31 {
        out.push(0xa0 | n as u8);
    } else if bin && n <= 0xff {
        out.push(0xd9);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(b);
}

fn pack_int(i: i128, bin: bool, out: &mut Vec<u8>) {
    if i >= 0 {
        if i <= 0x7f {
            out.push(i as u8);
        } else if i <= 0xff {
            out.extend_from_slice(&[0xcc, i as u8]);
        } else if i <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(i as u16).to_be_bytes());
        } else if i <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(i as u32).to_be_bytes());
        } else if i <= u64::MAX as i128 {
            out.push(0xcf);
            out.extend_from_slice(&(i as u64).to_be_bytes());
        } else {
            pack_raw(i.to_string().as_bytes(), bin, out);
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= i8::MIN as i128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= i16::MIN as i128 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= i32::MIN as i128 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else if i >= i64::MIN as i128 {
        out.push(0xd3);
        out.extend_from_slice(&(i as i64).to_be_bytes());
    } else {
        pack_raw(i.to_string().as_bytes(), bin, out);
    }
}

/// `salt.payload.loads(data)`.
pub fn loads(data: &[u8]) -> Result<Value, PayloadError> {
    let mut r = Reader { data, pos: 0 };
    let v = r.value(0)?;
    match data.len() - r.pos {
        0 => Ok(v),
        n => Err(PayloadError::Trailing(n)),
    }
}

/// Unpack the first object of `data` and return it with the number of
/// bytes it used (for streams of concatenated objects).
pub fn loads_prefix(data: &[u8]) -> Result<(Value, usize), PayloadError> {
    let mut r = Reader { data, pos: 0 };
    let v = r.value(0)?;
    Ok((v, r.pos))
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], PayloadError> {
        let end = self.pos.checked_add(n).ok_or(PayloadError::Truncated)?;
        let s = self
            .data
            .get(self.pos..end)
            .ok_or(PayloadError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PayloadError> {
        Ok(self.take(1)?[0])
    }

    fn be(&mut self, n: usize) -> Result<u64, PayloadError> {
        Ok(self.take(n)?.iter().fold(0u64, |a, b| (a << 8) | *b as u64))
    }

    /// A count of items, each at least one byte: more than the bytes left
    /// is a truncated message (and no allocation is made for it).
    fn count(&mut self, n: usize) -> Result<usize, PayloadError> {
        if n > self.data.len() - self.pos {
            return Err(PayloadError::Truncated);
        }
        Ok(n)
    }

    fn raw(&mut self, n: usize) -> Result<Value, PayloadError> {
        let b = self.take(n)?;
        Ok(match std::str::from_utf8(b) {
            Ok(s) => Value::Str(s.to_string()),
            Err(_) => Value::Bytes(b.to_vec()),
        })
    }

    fn ext(&mut self, n: usize) -> Result<Value, PayloadError> {
        let code = self.u8()? as i8;
        let body = self.take(n)?;
        // 78: datetime as "%Y%m%dT%H:%M:%S.%f" (kept as that text); other
        // extension types come back as their bytes, as Salt's hook does.
        let _ = code;
        Ok(match std::str::from_utf8(body) {
            Ok(s) => Value::Str(s.to_string()),
            Err(_) => Value::Bytes(body.to_vec()),
        })
    }

    fn list(&mut self, n: usize, depth: usize) -> Result<Value, PayloadError> {
        let n = self.count(n)?;
        let mut l = Vec::with_capacity(n);
        for _ in 0..n {
            l.push(self.value(depth + 1)?);
        }
        Ok(Value::List(l))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, PayloadError> {
        let n = self.count(n.saturating_mul(2))? / 2;
        let mut m = Map::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let k = self.value(depth + 1)?;
            // Python cannot use a dict as a key; a list key becomes a tuple.
            if let Value::Map(_) = k {
                return Err(PayloadError::BadKey("dict"));
            }
            let v = self.value(depth + 1)?;
            m.insert(k, v);
        }
        Ok(Value::Map(m))
    }

    fn value(&mut self, depth: usize) -> Result<Value, PayloadError> {
        if depth > MAX_DEPTH {
            return Err(PayloadError::TooDeep(MAX_DEPTH));
        }
        let t = self.u8()?;
        Ok(match t {
            0x00..=0x7f => Value::Int(t as i128),
            0x80..=0x8f => return self.map((t & 0x0f) as usize, depth),
            0x90..=0x9f => return self.list((t & 0x0f) as usize, depth),
            0xa0..=0xbf => return self.raw((t & 0x1f) as usize),
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 | 0xd9 => {
                let n = self.be(1)? as usize;
                return self.raw(n);
            }
            0xc5 | 0xda => {
                let n = self.be(2)? as usize;
                return self.raw(n);
            }
            0xc6 | 0xdb => {
                let n = self.be(4)? as usize;
                return self.raw(n);
            }
            0xc7 => {
                let n = self.be(1)? as usize;
                return self.ext(n);
            }
            0xc8 => {
                let n = self.be(2)? as usize;
                return self.ext(n);
            }
            0xc9 => {
                let n = self.be(4)? as usize;
                return self.ext(n);
            }
            0xca => Value::Float(f32::from_bits(self.be(4)? as u32) as f64),
            0xcb => Value::Float(f64::from_bits(self.be(8)?)),
            0xcc => Value::Int(self.be(1)? as i128),
            0xcd => Value::Int(self.be(2)? as i128),
            0xce => Value::Int(self.be(4)? as i128),
            0xcf => Value::Int(self.be(8)? as i128),
            0xd0 => Value::Int(self.be(1)? as u8 as i8 as i128),
            0xd1 => Value::Int(self.be(2)? as u16 as i16 as i128),
            0xd2 => Value::Int(self.be(4)? as u32 as i32 as i128),
            0xd3 => Value::Int(self.be(8)? as i64 as i128),
            0xd4 => return self.ext(1),
            0xd5 => return self.ext(2),
            0xd6 => return self.ext(4),
            0xd7 => return self.ext(8),
            0xd8 => return self.ext(16),
            0xdc => {
                let n = self.be(2)? as usize;
                return self.list(n, depth);
            }
            0xdd => {
                let n = self.be(4)? as usize;
                return self.list(n, depth);
            }
            0xde => {
                let n = self.be(2)? as usize;
                return self.map(n, depth);
            }
            0xdf => {
                let n = self.be(4)? as usize;
                return self.map(n, depth);
            }
            0xe0..=0xff => Value::Int(t as i8 as i128),
            0xc1 => return Err(PayloadError::BadType(t)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (Value::from(*k), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn round_trip() {
        let v = m(&[
            ("enc", Value::from("aes")),
            (
                "load",
                Value::List(vec![
                    Value::Int(0),
                    Value::Int(-1),
                    Value::Int(-33),
                    Value::Int(300),
                    Value::Int(1 << 40),
                    Value::Int(-(1 << 40)),
                    Value::Float(2.5),
                    Value::Null,
                    Value::Bool(true),
                    Value::from("x".repeat(40)),
                    Value::Bytes(vec![0xff, 0x00]),
                ]),
            ),
        ]);
        assert_eq!(loads(&dumps(&v)).unwrap(), v);
        assert_eq!(loads(&dumps_bin(&v)).unwrap(), v);
    }

    #[test]
    fn hostile_input_is_an_error() {
        // A huge declared array with nothing behind it.
        assert_eq!(
            loads(&[0xdd, 0xff, 0xff, 0xff, 0xff]),
            Err(PayloadError::Truncated)
        );
        assert_eq!(
            loads(&[0xdb, 0xff, 0xff, 0xff, 0xff]),
            Err(PayloadError::Truncated)
        );
        assert_eq!(loads(&[0xc1]), Err(PayloadError::BadType(0xc1)));
        assert_eq!(loads(&[0x01, 0x02]), Err(PayloadError::Trailing(1)));
        let deep = vec![0x91u8; MAX_DEPTH + 10];
        assert_eq!(loads(&deep), Err(PayloadError::TooDeep(MAX_DEPTH)));
        assert_eq!(
            loads(&[0x81, 0x80, 0x01]),
            Err(PayloadError::BadKey("dict"))
        );
        assert_eq!(loads(&[]), Err(PayloadError::Truncated));
    }

    #[test]
    fn big_ints_become_strings() {
        let v = Value::Int(1i128 << 70);
        assert_eq!(
            loads(&dumps(&v)).unwrap(),
            Value::from((1i128 << 70).to_string())
        );
    }
}
