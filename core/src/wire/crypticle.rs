//! Salt's `Crypticle` (salt/crypt.py): the shared-key authenticated
//! encryption of every request and publish after `_auth`.
//!
//! AES-CBC with a random IV and PKCS#7 padding, then HMAC-SHA256 over
//! `iv || ciphertext`, appended. The key string is base64 of the AES key
//! (`key_size / 8` bytes, 192 bits by default) followed by the 32-byte HMAC
//! key. Serialised objects are prefixed with `pickle::` (and a 32-character
//! nonce when one is given) before encryption.
//!
//! The HMAC is checked in constant time before anything is decrypted; the
//! padding is then checked too (Salt only slices it off, trusting the
//! HMAC), so a wrong key size or a corrupt message is an error, never a
//! panic.

use super::payload::{self, PayloadError};
use crate::value::Value;
use base64::Engine;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{KeyInit, Mac};
use thiserror::Error;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// `Crypticle.PICKLE_PAD`.
pub const PICKLE_PAD: &[u8] = b"pickle::";
const BLOCK: usize = 16;
const SIG_SIZE: usize = 32;

#[derive(Debug, Error, PartialEq)]
pub enum CrypticleError {
    #[error("invalid key: {0}")]
    BadKey(String),
    #[error("message authentication failed")]
    Authentication,
    #[error("message too short or badly padded")]
    Malformed,
    #[error("nonce verification error: got {got:?}, expected {want:?}")]
    Nonce { got: String, want: String },
    #[error("could not deserialize payload: {0}")]
    Payload(#[from] PayloadError),
}

/// A session key: AES key plus HMAC key.
#[derive(Clone)]
pub struct Crypticle {
    aes_key: Vec<u8>,
    hmac_key: Vec<u8>,
    /// The base64 key string, as Salt shares it.
    pub key_string: String,
}

impl std::fmt::Debug for Crypticle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Crypticle { .. }")
    }
}

/// `len` random bytes from the operating system.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    // The OS RNG failing is not recoverable for a crypto protocol.
    getrandom::fill(&mut b).expect("the operating system's random number generator failed");
    b
}

impl Crypticle {
    /// `Crypticle.generate_key_string(key_size)`.
    pub fn generate_key_string(key_size: usize) -> String {
        base64::engine::general_purpose::STANDARD.encode(random_bytes(key_size / 8 + SIG_SIZE))
    }

    /// A new random key of `key_size` bits (Salt: 192).
    pub fn generate(key_size: usize) -> Crypticle {
        let s = Self::generate_key_string(key_size);
        // A freshly generated string always has the right length.
        Self::new(&s, key_size).expect("generated key")
    }

    /// `Crypticle(opts, key_string, key_size)`.
    pub fn new(key_string: &str, key_size: usize) -> Result<Crypticle, CrypticleError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(key_string.trim())
            .map_err(|e| CrypticleError::BadKey(e.to_string()))?;
        if !matches!(key_size, 128 | 192 | 256) || raw.len() != key_size / 8 + SIG_SIZE {
            return Err(CrypticleError::BadKey(format!(
                "{} bytes for a {key_size}-bit key",
                raw.len()
            )));
        }
        let (a, h) = raw.split_at(key_size / 8);
        Ok(Crypticle {
            aes_key: a.to_vec(),
            hmac_key: h.to_vec(),
            key_string: key_string.trim().to_string(),
        })
    }

    /// `Crypticle.encrypt`.
    pub fn encrypt(&self, data: &[u8]) -> Vec<u8> {
        let iv = random_bytes(BLOCK);
        let mut out = iv.clone();
        let ct = match self.aes_key.len() {
            16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(&self.aes_key, &iv)
                .map(|c| c.encrypt_padded_vec::<cbc::cipher::block_padding::Pkcs7>(data)),
            24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(&self.aes_key, &iv)
                .map(|c| c.encrypt_padded_vec::<cbc::cipher::block_padding::Pkcs7>(data)),
            _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(&self.aes_key, &iv)
                .map(|c| c.encrypt_padded_vec::<cbc::cipher::block_padding::Pkcs7>(data)),
        };
        // Key and IV lengths are fixed by construction.
        out.extend_from_slice(&ct.expect("valid AES key and IV lengths"));
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.hmac_key)
            .expect("HMAC takes any key length");
        mac.update(&out);
        out.extend_from_slice(&mac.finalize().into_bytes());
        out
    }

    /// `Crypticle.decrypt`.
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, CrypticleError> {
        if data.len() < SIG_SIZE + 2 * BLOCK || !(data.len() - SIG_SIZE).is_multiple_of(BLOCK) {
            return Err(CrypticleError::Malformed);
        }
        let (body, sig) = data.split_at(data.len() - SIG_SIZE);
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.hmac_key)
            .expect("HMAC takes any key length");
        mac.update(body);
        mac.verify_slice(sig)
            .map_err(|_| CrypticleError::Authentication)?;
        let (iv, ct) = body.split_at(BLOCK);
        let pt = match self.aes_key.len() {
            16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(&self.aes_key, iv)
                .map(|c| c.decrypt_padded_vec::<cbc::cipher::block_padding::Pkcs7>(ct)),
            24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(&self.aes_key, iv)
                .map(|c| c.decrypt_padded_vec::<cbc::cipher::block_padding::Pkcs7>(ct)),
            _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(&self.aes_key, iv)
                .map(|c| c.decrypt_padded_vec::<cbc::cipher::block_padding::Pkcs7>(ct)),
        };
        match pt {
            Ok(Ok(p)) => Ok(p),
            _ => Err(CrypticleError::Malformed),
        }
    }

    /// `Crypticle.dumps(obj, nonce)`.
    pub fn dumps(&self, obj: &Value, nonce: Option<&str>) -> Vec<u8> {
        let mut plain = PICKLE_PAD.to_vec();
        if let Some(n) = nonce {
            plain.extend_from_slice(n.as_bytes());
        }
        plain.extend_from_slice(&payload::dumps(obj));
        self.encrypt(&plain)
    }

    /// `Crypticle.loads(data, nonce)`, without the serial check (see
    /// [`Crypticle::loads_serial`]): an authentic message without the
    /// `pickle::` prefix is an empty map, as in Salt.
    pub fn loads(&self, data: &[u8], nonce: Option<&str>) -> Result<Value, CrypticleError> {
        let plain = self.decrypt(data)?;
        let Some(rest) = plain.strip_prefix(PICKLE_PAD) else {
            return Ok(Value::map());
        };
        let rest = match nonce {
            Some(want) => {
                let got = rest.get(..32).ok_or(CrypticleError::Malformed)?;
                let got = String::from_utf8_lossy(got).into_owned();
                if got != want {
                    return Err(CrypticleError::Nonce {
                        got,
                        want: want.to_string(),
                    });
                }
                &rest[32..]
            }
            None => rest,
        };
        Ok(payload::loads(rest)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let c = Crypticle::generate(192);
        let v = Value::from("hello");
        let enc = c.dumps(&v, None);
        assert_eq!(c.loads(&enc, None).unwrap(), v);
        let mut bad = enc.clone();
        bad[20] ^= 1;
        assert_eq!(c.loads(&bad, None), Err(CrypticleError::Authentication));
        let n = "0123456789abcdef0123456789abcdef";
        let enc = c.dumps(&v, Some(n));
        assert_eq!(c.loads(&enc, Some(n)).unwrap(), v);
        assert!(matches!(
            c.loads(&enc, Some("ffffffffffffffffffffffffffffffff")),
            Err(CrypticleError::Nonce { .. })
        ));
        assert_eq!(c.decrypt(&[0u8; 10]), Err(CrypticleError::Malformed));
        let other = Crypticle::generate(192);
        assert_eq!(
            other.loads(&c.dumps(&v, None), None),
            Err(CrypticleError::Authentication)
        );
        assert!(Crypticle::new("AAAA", 192).is_err());
    }
}
