//! ANSI X9.31 RSA signatures as Salt makes them (`salt.utils.rsax931`,
//! OpenSSL's `RSA_X931_PADDING`): a raw RSA private-key operation over
//! `0x6B BB.. BA data CC`. Salt's `PrivateKey.encrypt` / `PublicKey.decrypt`
//! use it for the master's signature on the AES key it hands out and for
//! the `tok` (`b"salt"` signed) every minion request carries. Used by both
//! sides ([`super::server`], [`super::client`]).

use super::keys::KeyError;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::BoxedUint;

fn rsa_err(e: impl std::fmt::Display) -> KeyError {
    KeyError::Rsa(e.to_string())
}

fn invalid(e: impl std::fmt::Display) -> KeyError {
    KeyError::Invalid {
        msg: e.to_string(),
        path: None,
    }
}

/// A private key from PKCS#1 or PKCS#8 PEM, for raw operations.
pub fn raw_private(pem: &str) -> Result<rsa::PrivateKey, KeyError> {
    rsa::PrivateKey::from_pkcs1_pem(pem)
        .or_else(|_| rsa::PrivateKey::from_pkcs8_pem(pem))
        .map_err(invalid)
}

/// A public key from SubjectPublicKeyInfo or PKCS#1 PEM.
pub fn raw_public(pem: &str) -> Result<rsa::PublicKey, KeyError> {
    rsa::PublicKey::from_public_key_pem(pem)
        .or_else(|_| rsa::PublicKey::from_pkcs1_pem(pem))
        .map_err(invalid)
}

/// Left-pad (or keep the low `k` bytes of) a big-endian number to `k` bytes.
fn to_k_bytes(n: &BoxedUint, k: usize) -> Vec<u8> {
    let b = n.to_be_bytes();
    if b.len() >= k {
        b[b.len() - k..].to_vec()
    } else {
        let mut out = vec![0u8; k - b.len()];
        out.extend_from_slice(&b);
        out
    }
}

/// Salt's `PrivateKey.encrypt(data)`: X9.31-pad `data` to the modulus size
/// and apply the private exponent; the result is `min(s, n - s)`, as
/// OpenSSL's `RSA_private_encrypt(..., RSA_X931_PADDING)` returns.
pub fn sign(key: &rsa::PrivateKey, data: &[u8]) -> Result<Vec<u8>, KeyError> {
    let kk = key.size();
    if data.len() + 2 > kk {
        return Err(KeyError::Rsa("data too large for the key size".into()));
    }
    let j = kk - data.len() - 2;
    let mut em = Vec::with_capacity(kk);
    if j == 0 {
        em.push(0x6a);
    } else {
        em.push(0x6b);
        em.extend_from_slice(&vec![0xbb; j - 1]);
        em.push(0xba);
    }
    em.extend_from_slice(data);
    em.push(0xcc);
    let prec = key.n_bits_precision();
    let m = BoxedUint::from_be_slice(&em, prec).map_err(rsa_err)?;
    let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
    let s = rsa::hazmat::rsa_decrypt_and_check(key, Some(&mut rng), &m).map_err(rsa_err)?;
    let n: &BoxedUint = key.n().as_ref();
    let alt = n.wrapping_sub(&s);
    let out = if s > alt { alt } else { s };
    Ok(to_k_bytes(&out, kk))
}

/// Salt's `PublicKey.decrypt(sig)`: the data `sig` (made by [`sign`])
/// carries. Any malformed signature is an error.
pub fn recover(key: &rsa::PublicKey, sig: &[u8]) -> Result<Vec<u8>, KeyError> {
    let kk = key.size();
    let bad = || KeyError::Rsa("invalid X9.31 signature".into());
    if sig.len() != kk {
        return Err(bad());
    }
    let prec = key.n_bits_precision();
    let s = BoxedUint::from_be_slice(sig, prec).map_err(|_| bad())?;
    let n: &BoxedUint = key.n().as_ref();
    if s >= *n {
        return Err(bad());
    }
    let r = rsa::hazmat::rsa_encrypt(key, &s).map_err(rsa_err)?;
    let rb = to_k_bytes(&r, kk);
    let r = if rb.last().map(|b| b & 0x0f) != Some(12) {
        n.wrapping_sub(&r)
    } else {
        r
    };
    let em = to_k_bytes(&r, kk);
    let body = match em.first() {
        Some(0x6a) => &em[1..],
        Some(0x6b) => {
            let rest = &em[1..];
            let pad = rest.iter().take_while(|b| **b == 0xbb).count();
            match rest.get(pad) {
                Some(0xba) => &rest[pad + 1..],
                _ => return Err(bad()),
            }
        }
        _ => return Err(bad()),
    };
    match body.split_last() {
        Some((0xcc, data)) => Ok(data.to_vec()),
        _ => Err(bad()),
    }
}
