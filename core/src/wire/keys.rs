//! RSA keys as Salt keeps and uses them (salt/crypt.py `gen_keys`,
//! `PrivateKey`, `PublicKey`).
//!
//! Files: the private key is PKCS#1 PEM ("BEGIN RSA PRIVATE KEY", mode
//! 0400), the public key SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY");
//! PKCS#8 private keys and PKCS#1 public keys are read too.
//! Algorithms (Salt 3007's `enc_algo` / `sig_algo`): RSA-OAEP with SHA-1
//! (default) or SHA-224 (MGF1 with the same hash, no label); PKCS#1 v1.5
//! signatures with SHA-1 (default) or SHA-224. All from RustCrypto's `rsa`
//! 0.10 (constant-time modular exponentiation; see docs/dependencies.md).

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid key{where_}: {msg}", where_ = .path.as_deref().map(|p| format!(" in {p}")).unwrap_or_default())]
    Invalid { msg: String, path: Option<String> },
    #[error("unsupported algorithm: {0}")]
    Algorithm(String),
    #[error("RSA operation failed: {0}")]
    Rsa(String),
}

/// Salt's `enc_algo` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncAlgo {
    OaepSha1,
    OaepSha224,
}

/// Salt's `sig_algo` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlgo {
    Pkcs1v15Sha1,
    Pkcs1v15Sha224,
}

impl EncAlgo {
    pub fn parse(s: &str) -> Result<EncAlgo, KeyError> {
        match s {
            "OAEP-SHA1" => Ok(EncAlgo::OaepSha1),
            "OAEP-SHA224" => Ok(EncAlgo::OaepSha224),
            _ => Err(KeyError::Algorithm(format!(
                "Invalid encryption algorithm: {s}"
            ))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            EncAlgo::OaepSha1 => "OAEP-SHA1",
            EncAlgo::OaepSha224 => "OAEP-SHA224",
        }
    }
}

impl SigAlgo {
    pub fn parse(s: &str) -> Result<SigAlgo, KeyError> {
        match s {
            "PKCS1v15-SHA1" => Ok(SigAlgo::Pkcs1v15Sha1),
            "PKCS1v15-SHA224" => Ok(SigAlgo::Pkcs1v15Sha224),
            _ => Err(KeyError::Algorithm(format!(
                "Invalid signing algorithm: {s}"
            ))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            SigAlgo::Pkcs1v15Sha1 => "PKCS1v15-SHA1",
            SigAlgo::Pkcs1v15Sha224 => "PKCS1v15-SHA224",
        }
    }
}

fn rsa_err(e: impl std::fmt::Display) -> KeyError {
    KeyError::Rsa(e.to_string())
}

/// A private key.
#[derive(Clone)]
pub struct PrivateKey(rsa::PrivateKey);

/// A public key.
#[derive(Clone, PartialEq)]
pub struct PublicKey(rsa::PublicKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey { .. }")
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint_sha256())
    }
}

impl PrivateKey {
    /// `rsa.generate_private_key(65537, bits)`.
    pub fn generate(bits: usize) -> Result<PrivateKey, KeyError> {
        let mut rng = rsa::rand_core::UnwrapErr(getrandom::SysRng);
        rsa::PrivateKey::new(&mut rng, bits)
            .map(PrivateKey)
            .map_err(rsa_err)
    }

    /// Parse PEM (PKCS#1 or PKCS#8).
    pub fn from_pem(pem: &str) -> Result<PrivateKey, KeyError> {
        rsa::PrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| rsa::PrivateKey::from_pkcs8_pem(pem))
            .map(PrivateKey)
            .map_err(|e| KeyError::Invalid {
                msg: e.to_string(),
                path: None,
            })
    }

    /// Read a key file.
    pub fn read(path: &Path) -> Result<PrivateKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_pem(&text).map_err(|e| match e {
            KeyError::Invalid { msg, .. } => KeyError::Invalid {
                msg,
                path: Some(path.display().to_string()),
            },
            other => other,
        })
    }

    /// PKCS#1 PEM ("TraditionalOpenSSL"), as Salt writes it.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.0
            .to_pkcs1_pem(LineEnding::LF)
            .map(|z| z.to_string())
            .map_err(rsa_err)
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.to_public_key())
    }

    /// `PrivateKey.sign(data, algorithm)`.
    pub fn sign(&self, data: &[u8], algo: SigAlgo) -> Result<Vec<u8>, KeyError> {
        match algo {
            SigAlgo::Pkcs1v15Sha1 => self.0.pkcs1v15_sign::<sha1::Sha1>(data),
            SigAlgo::Pkcs1v15Sha224 => self.0.pkcs1v15_sign::<sha2::Sha224>(data),
        }
        .map_err(rsa_err)
    }

    /// `PrivateKey.decrypt(data, algorithm)`.
    pub fn decrypt(&self, data: &[u8], algo: EncAlgo) -> Result<Vec<u8>, KeyError> {
        match algo {
            EncAlgo::OaepSha1 => self.0.oaep_decrypt::<sha1::Sha1>(data),
            EncAlgo::OaepSha224 => self.0.oaep_decrypt::<sha2::Sha224>(data),
        }
        .map_err(rsa_err)
    }
}

impl PublicKey {
    /// Parse PEM (SubjectPublicKeyInfo or PKCS#1).
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        rsa::PublicKey::from_public_key_pem(pem)
            .or_else(|_| rsa::PublicKey::from_pkcs1_pem(pem))
            .map(PublicKey)
            .map_err(|e| KeyError::Invalid {
                msg: e.to_string(),
                path: None,
            })
    }

    /// Read a key file.
    pub fn read(path: &Path) -> Result<PublicKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_pem(&text).map_err(|e| match e {
            KeyError::Invalid { msg, .. } => KeyError::Invalid {
                msg,
                path: Some(path.display().to_string()),
            },
            other => other,
        })
    }

    /// SubjectPublicKeyInfo PEM, as Salt writes it.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        self.0.to_public_key_pem(LineEnding::LF).map_err(rsa_err)
    }

    /// `PublicKey.encrypt(data, algorithm)`.
    pub fn encrypt(&self, data: &[u8], algo: EncAlgo) -> Result<Vec<u8>, KeyError> {
        match algo {
            EncAlgo::OaepSha1 => self.0.oaep_encrypt::<sha1::Sha1>(data),
            EncAlgo::OaepSha224 => self.0.oaep_encrypt::<sha2::Sha224>(data),
        }
        .map_err(rsa_err)
    }

    /// `PublicKey.verify(data, signature, algorithm)`.
    pub fn verify(&self, data: &[u8], sig: &[u8], algo: SigAlgo) -> bool {
        match algo {
            SigAlgo::Pkcs1v15Sha1 => self.0.pkcs1v15_verify::<sha1::Sha1>(data, sig),
            SigAlgo::Pkcs1v15Sha224 => self.0.pkcs1v15_verify::<sha2::Sha224>(data, sig),
        }
        .is_ok()
    }

    /// `salt.utils.crypt.pem_finger(..., sum_type="sha256")`: the hash of
    /// the base64 body of the PEM, as `aa:bb:...`.
    pub fn fingerprint_sha256(&self) -> String {
        self.to_pem().map(|p| pem_finger(&p)).unwrap_or_default()
    }
}

/// `salt.utils.crypt.pem_finger(path=...)` with sha256, over the text of
/// a key file: its non-blank lines without the first and last (armour)
/// lines, each keeping its newline (`\r\n` read as `\n`), as colon-separated
/// hex. This is what `salt-key -f` prints and what a minion's
/// `master_finger` is compared with.
pub fn pem_finger(text: &str) -> String {
    use sha2::Digest;
    let lines: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| !l.trim().is_empty())
        .collect();
    let body = if lines.len() > 2 {
        lines[1..lines.len() - 1].concat().replace("\r\n", "\n")
    } else {
        String::new()
    };
    let digest = sha2::Sha256::digest(body.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `gen_keys(keydir, name, bits)`: write `name.pem` (0400) and `name.pub`
/// (0644), each atomically; an existing private key wins, as in Salt.
pub fn gen_keys(dir: &Path, name: &str, bits: usize) -> Result<PrivateKey, KeyError> {
    let priv_path = dir.join(format!("{name}.pem"));
    if priv_path.is_file() {
        return PrivateKey::read(&priv_path);
    }
    let key = PrivateKey::generate(bits)?;
    let io = |path: &Path| {
        let p = path.display().to_string();
        move |source| KeyError::Io { path: p, source }
    };
    crate::fsutil::write_atomic(&priv_path, key.to_pem()?.as_bytes(), Some(0o400))
        .map_err(io(&priv_path))?;
    let pub_path = dir.join(format!("{name}.pub"));
    crate::fsutil::write_atomic(
        &pub_path,
        key.public_key().to_pem()?.as_bytes(),
        Some(0o644),
    )
    .map_err(io(&pub_path))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_encrypt_round_trip() {
        let k = PrivateKey::generate(2048).unwrap();
        let p = k.public_key();
        for algo in [SigAlgo::Pkcs1v15Sha1, SigAlgo::Pkcs1v15Sha224] {
            let sig = k.sign(b"msg", algo).unwrap();
            assert!(p.verify(b"msg", &sig, algo));
            assert!(!p.verify(b"msh", &sig, algo));
        }
        for algo in [EncAlgo::OaepSha1, EncAlgo::OaepSha224] {
            let ct = p.encrypt(b"secret", algo).unwrap();
            assert_eq!(k.decrypt(&ct, algo).unwrap(), b"secret");
        }
        let pem = k.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let back = PrivateKey::from_pem(&pem).unwrap();
        assert!(back.public_key() == p);
        let ppem = p.to_pem().unwrap();
        assert!(ppem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(PublicKey::from_pem(&ppem).unwrap() == p);
        assert!(PublicKey::from_pem("garbage").is_err());
    }
}
