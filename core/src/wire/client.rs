//! The minion side of Salt's request and publish channels, without I/O:
//! the `_auth` sign-in payload and the checks on the master's answer
//! (`salt.crypt.AsyncAuth.minion_sign_in_payload` / `handle_signin_response`
//! / `verify_master` / `decrypt_aes`), the version-3 request envelope
//! (`AsyncReqChannel._package_load`), decoding replies
//! (`_crypted_transfer`, `crypted_transfer_decode_dictentry`) and decoding
//! publishes (`AsyncPubChannel._decode_payload`, `zeromq._decode_messages`).
//!
//! Salt's `tok` and the master's digest signature on the AES key use ANSI
//! X9.31 RSA signatures (`salt.utils.rsax931`), implemented here over the
//! raw RSA primitive: [`x931_sign`] and [`x931_recover`].
//!
//! Every input from the network is checked; failures are [`ClientError`]s,
//! never panics.

use crate::value::{Map, Value};
use crate::wire::crypticle::{random_bytes, Crypticle, CrypticleError};
use crate::wire::keys::{self, EncAlgo, KeyError, PrivateKey, PublicKey, SigAlgo};
use crate::wire::payload::{self, PayloadError};
use crate::wire::x931;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The master's public key as the minion caches it (`AsyncAuth.mpub`).
pub const MASTER_PUB: &str = "minion_master.pub";
/// Salt's AES key size for `Crypticle`.
pub const AES_KEY_SIZE: usize = 192;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Crypt(#[from] CrypticleError),
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("malformed message from the master: {0}")]
    Malformed(String),
    #[error("the Salt Master's public key did not authenticate: {0}")]
    InvalidMasterKey(String),
    #[error("the master's payload signature did not validate")]
    InvalidSignature,
    #[error("the master's payload nonce did not validate")]
    InvalidNonce,
    #[error("master_finger {want} does not match the authenticating master's key {got}")]
    FingerMismatch { want: String, got: String },
    #[error("the master asks to re-authenticate: {0}")]
    Reauth(String),
    #[error("X9.31 signature: {0}")]
    X931(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |source| ClientError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn malformed(msg: impl Into<String>) -> ClientError {
    ClientError::Malformed(msg.into())
}

/// `uuid.uuid4().hex`: 32 lowercase hex characters.
pub fn new_nonce() -> String {
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `salt.crypt.clean_key`: strip, Unix line endings.
pub fn clean_key(key: &str) -> String {
    key.trim().lines().collect::<Vec<_>>().join("\n")
}

/// `hashlib.sha1(id).hexdigest()`: the minion's publish topic with
/// `zmq_filtering`.
pub fn hexid(id: &str) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `RSA_private_encrypt(..., RSA_X931_PADDING)` as OpenSSL does it
/// (`salt.utils.rsax931.RSAX931Signer.sign`): pad `0x6B BB.. BA data 33CC`
/// (or `0x6A data 0xCC`), raise to d, and keep `min(s, n - s)`.
pub fn x931_sign(key: &rsa::PrivateKey, data: &[u8]) -> Result<Vec<u8>, ClientError> {
    x931::sign(key, data).map_err(|e| ClientError::X931(e.to_string()))
}

/// `RSA_public_decrypt(..., RSA_X931_PADDING)`
/// (`salt.utils.rsax931.RSAX931Verifier.verify`): the data a signature
/// made by [`x931_sign`] carries.
pub fn x931_recover(key: &rsa::PublicKey, sig: &[u8]) -> Result<Vec<u8>, ClientError> {
    x931::recover(key, sig).map_err(|e| ClientError::X931(e.to_string()))
}

fn raw_private(pem: &str) -> Result<rsa::PrivateKey, ClientError> {
    Ok(x931::raw_private(pem)?)
}

fn raw_public(pem: &str) -> Result<rsa::PublicKey, ClientError> {
    Ok(x931::raw_public(pem)?)
}

/// The master's public key, both as a [`PublicKey`] and for X9.31.
#[derive(Clone)]
pub struct MasterKey {
    pub key: PublicKey,
    raw: rsa::PublicKey,
    /// The PEM text, `clean_key`ed.
    pub pem: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", keys::pem_finger(&self.pem))
    }
}

impl MasterKey {
    pub fn from_pem(pem: &str) -> Result<MasterKey, ClientError> {
        Ok(MasterKey {
            key: PublicKey::from_pem(pem)?,
            raw: raw_public(pem)?,
            pem: clean_key(pem),
        })
    }

    /// `pki_dir/minion_master.pub`, if cached.
    pub fn read_cached(pki_dir: &Path) -> Result<Option<MasterKey>, ClientError> {
        let path = pki_dir.join(MASTER_PUB);
        match std::fs::read_to_string(&path) {
            Ok(t) => MasterKey::from_pem(&t).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// `PublicKey.decrypt`: the data of an X9.31 signature by the master.
    pub fn recover(&self, sig: &[u8]) -> Result<Vec<u8>, ClientError> {
        x931_recover(&self.raw, sig)
    }
}

/// The minion's key pair (`minion.pem`, `minion.pub` in `pki_dir`).
#[derive(Clone)]
pub struct MinionKeys {
    pub key: PrivateKey,
    raw: rsa::PrivateKey,
    /// `minion.pub`, `clean_key`ed, as sent in `_auth`.
    pub pub_pem: String,
}

impl std::fmt::Debug for MinionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MinionKeys({})", keys::pem_finger(&self.pub_pem))
    }
}

impl MinionKeys {
    /// Read `minion.pem`/`minion.pub` from `pki_dir`, generating them
    /// (`keysize` bits, Salt's PEM formats, `minion.pem` mode 0400) on first
    /// start, as `AsyncAuth.get_keys` does.
    pub fn load_or_generate(pki_dir: &Path, keysize: usize) -> Result<MinionKeys, ClientError> {
        std::fs::create_dir_all(pki_dir).map_err(io_err(pki_dir))?;
        let priv_path = pki_dir.join("minion.pem");
        let key = keys::gen_keys(pki_dir, "minion", keysize)?;
        let pem = std::fs::read_to_string(&priv_path).map_err(io_err(&priv_path))?;
        let pub_path = pki_dir.join("minion.pub");
        let pub_pem = match std::fs::read_to_string(&pub_path) {
            Ok(t) => t,
            Err(_) => {
                let t = key.public_key().to_pem()?;
                crate::fsutil::write_atomic(&pub_path, t.as_bytes(), Some(0o644))
                    .map_err(io_err(&pub_path))?;
                t
            }
        };
        Ok(MinionKeys {
            raw: raw_private(&pem)?,
            key,
            pub_pem: clean_key(&pub_pem),
        })
    }

    /// `AsyncAuth.gen_token(b"salt")`: the `tok` of every request.
    pub fn gen_token(&self, clear: &[u8]) -> Result<Vec<u8>, ClientError> {
        x931_sign(&self.raw, clear)
    }
}

/// The algorithms the minion negotiates (`encryption_algorithm`,
/// `signing_algorithm`).
#[derive(Debug, Clone, Copy)]
pub struct Algos {
    pub enc: EncAlgo,
    pub sig: SigAlgo,
}

impl Default for Algos {
    fn default() -> Self {
        Algos {
            enc: EncAlgo::OaepSha1,
            sig: SigAlgo::Pkcs1v15Sha1,
        }
    }
}

impl Algos {
    /// From a minion config (Salt's defaults: OAEP-SHA1, PKCS1v15-SHA1).
    pub fn from_opts(opts: &Value) -> Result<Algos, ClientError> {
        let d = Algos::default();
        let enc = match opts.get("encryption_algorithm").and_then(Value::as_str) {
            Some(s) => EncAlgo::parse(s)?,
            None => d.enc,
        };
        let sig = match opts.get("signing_algorithm").and_then(Value::as_str) {
            Some(s) => SigAlgo::parse(s)?,
            None => d.sig,
        };
        Ok(Algos { enc, sig })
    }
}

/// One sign-in attempt: what was sent, to check the answer against.
#[derive(Debug, Clone)]
pub struct SignInRequest {
    pub nonce: String,
    /// The random token encrypted to the master, if its key was known.
    pub token: Option<String>,
    /// The `_auth` load.
    pub load: Value,
}

fn s(v: &str) -> Value {
    Value::from(v)
}

/// `AsyncAuth.minion_sign_in_payload`: the `_auth` load (`cmd`, `id`,
/// `nonce`, `enc_algo`, `sig_algo`, `token` when the master's key is
/// cached, `pub`), plus `autosign_grains` when given.
pub fn sign_in_payload(
    id: &str,
    keys: &MinionKeys,
    master: Option<&MasterKey>,
    algos: Algos,
    autosign_grains: Option<Map>,
) -> SignInRequest {
    let nonce = new_nonce();
    let mut m = Map::default();
    m.insert(s("cmd"), s("_auth"));
    m.insert(s("id"), s(id));
    m.insert(s("nonce"), s(&nonce));
    m.insert(s("enc_algo"), s(algos.enc.name()));
    m.insert(s("sig_algo"), s(algos.sig.name()));
    if let Some(g) = autosign_grains {
        m.insert(s("autosign_grains"), Value::Map(g));
    }
    let mut token = None;
    if let Some(mk) = master {
        let t = Crypticle::generate_key_string(AES_KEY_SIZE);
        if let Ok(ct) = mk.key.encrypt(t.as_bytes(), algos.enc) {
            m.insert(s("token"), Value::Bytes(ct));
            token = Some(t);
        }
    }
    m.insert(s("pub"), s(&keys.pub_pem));
    SignInRequest {
        nonce,
        token,
        load: Value::Map(m),
    }
}

/// The clear envelope of a request (`_package_load` with `crypt="clear"`).
pub fn clear_envelope(load: Value) -> Value {
    let mut m = Map::default();
    m.insert(s("enc"), s("clear"));
    m.insert(s("load"), load);
    m.insert(s("version"), Value::Int(3));
    Value::Map(m)
}

/// The master's session with this minion after a successful sign-in.
#[derive(Debug, Clone)]
pub struct Session {
    /// The publish key (`auth["aes"]`).
    pub aes: Crypticle,
    /// The per-minion request key (`auth["session"]`).
    pub session: Crypticle,
    pub publish_port: Option<u16>,
    pub master: MasterKey,
}

/// What the master answered to `_auth`.
#[derive(Debug)]
pub enum SignIn {
    Accepted(Box<Session>),
    /// The key is pending (or the minion must wait): retry later.
    Retry,
    /// The key was rejected (`ret: False`).
    Rejected,
    /// `ret: "full"`: the master has too many minions.
    Full,
    /// `bad enc algo` / `bad sig algo`.
    BadAlgo(String),
}

/// What the sign-in checks need from the minion's config.
#[derive(Debug, Clone, Default)]
pub struct SignInCheck {
    pub pki_dir: PathBuf,
    /// `master_finger`, if set.
    pub master_finger: Option<String>,
    /// `open_mode`: accept a changed master key.
    pub open_mode: bool,
}

fn bytes_of(v: Option<&Value>) -> Option<&[u8]> {
    match v? {
        Value::Bytes(b) => Some(b),
        Value::Str(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn text_of(b: &[u8]) -> Result<String, ClientError> {
    String::from_utf8(b.to_vec()).map_err(|_| malformed("key material is not text"))
}

/// `AsyncAuth.handle_signin_response` (with `verify_master`,
/// `extract_aes`, `decrypt_aes`): checks the master's answer to `req` and
/// returns the session. The master's key is pinned in
/// `pki_dir/minion_master.pub` on first contact (checked against
/// `master_finger` first) and compared on every later sign-in.
pub fn handle_signin_response(
    req: &SignInRequest,
    reply: &Value,
    keys: &MinionKeys,
    algos: Algos,
    check: &SignInCheck,
) -> Result<SignIn, ClientError> {
    let Some(outer) = reply.as_map() else {
        return Err(malformed(format!(
            "sign-in reply is a {}",
            reply.type_name()
        )));
    };
    let Some(load) = outer.get(&s("load")) else {
        return Err(malformed("sign-in reply has no load"));
    };
    if let Some(ret) = load.get("ret") {
        // An unsigned clear answer: only the algorithm errors are taken
        // from it; anything else must be signed.
        if let Some(r) = ret.as_str() {
            if r == "bad enc algo" || r == "bad sig algo" {
                return Ok(SignIn::BadAlgo(r.to_string()));
            }
        }
        return Err(malformed("unsigned sign-in answer"));
    }
    let signed = bytes_of(Some(load)).ok_or_else(|| malformed("sign-in load is not bytes"))?;
    let sig =
        bytes_of(outer.get(&s("sig"))).ok_or_else(|| malformed("sign-in reply not signed"))?;
    let payload = payload::loads(signed)?;
    let Some(pm) = payload.as_map() else {
        return Err(malformed("sign-in payload is not a map"));
    };
    let m_pub_fn = check.pki_dir.join(MASTER_PUB);
    let cached = MasterKey::read_cached(&check.pki_dir)?;
    let mut master = cached.clone();
    let mut session = None;
    if let Some(pk) = pm.get(&s("pub_key")) {
        let pk_text = text_of(bytes_of(Some(pk)).ok_or_else(|| malformed("pub_key"))?)?;
        let offered = MasterKey::from_pem(&pk_text)?;
        if let Some(c) = &cached {
            if c.pem != offered.pem && !check.open_mode {
                return Err(ClientError::InvalidMasterKey(format!(
                    "it differs from the cached {} (verify the master; remove that file if the \
                     change is expected)",
                    m_pub_fn.display()
                )));
            }
        }
        if let Some(want) = &check.master_finger {
            let got = keys::pem_finger(&offered.pem);
            if !got.eq_ignore_ascii_case(want.trim()) {
                return Err(ClientError::FingerMismatch {
                    want: want.clone(),
                    got,
                });
            }
        }
        // The outer signature must come from the key being offered (and
        // pinned) before anything is written.
        if !offered.key.verify(signed, sig, algos.sig) {
            return Err(ClientError::InvalidSignature);
        }
        let aes_ct = bytes_of(pm.get(&s("aes"))).ok_or_else(|| malformed("no aes key"))?;
        let key_str = text_of(&keys.key.decrypt(aes_ct, algos.enc)?)?;
        // The master's X9.31 signature over sha256(key) in hex.
        if let Some(dsig) = bytes_of(pm.get(&s("sig"))) {
            use sha2::Digest;
            let digest: String = sha2::Sha256::digest(key_str.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if offered.recover(dsig)? != digest.as_bytes() {
                return Err(ClientError::InvalidMasterKey(
                    "the AES key signature does not match".into(),
                ));
            }
        } else {
            return Err(malformed("aes key not signed"));
        }
        let aes = match (key_str.split_once("_|-"), &req.token) {
            (Some((aes, tok)), Some(mine)) => {
                if tok != mine {
                    return Err(ClientError::InvalidMasterKey(
                        "the master failed to decrypt the random minion token".into(),
                    ));
                }
                aes.to_string()
            }
            (Some((aes, _)), None) => aes.to_string(),
            (None, Some(mine)) => {
                // auth_mode < 2: the token comes back encrypted to us.
                let back = bytes_of(pm.get(&s("token")))
                    .and_then(|ct| keys.key.decrypt(ct, algos.enc).ok());
                if back.as_deref() != Some(mine.as_bytes()) {
                    return Err(ClientError::InvalidMasterKey(
                        "the master failed to decrypt the random minion token".into(),
                    ));
                }
                key_str
            }
            (None, None) => key_str,
        };
        let sess_ct = bytes_of(pm.get(&s("session"))).ok_or_else(|| malformed("no session key"))?;
        let sess_str = text_of(&keys.key.decrypt(sess_ct, algos.enc)?)?;
        if cached.is_none() || check.open_mode {
            crate::fsutil::write_atomic(&m_pub_fn, offered.pem.as_bytes(), Some(0o644))
                .map_err(io_err(&m_pub_fn))?;
        }
        session = Some((
            Crypticle::new(&aes, AES_KEY_SIZE)?,
            Crypticle::new(&sess_str, AES_KEY_SIZE)?,
        ));
        master = Some(offered);
    } else if let Some(c) = &cached {
        if !c.key.verify(signed, sig, algos.sig) {
            return Err(ClientError::InvalidSignature);
        }
    }
    if pm.get(&s("nonce")).and_then(Value::as_str) != Some(req.nonce.as_str()) {
        return Err(ClientError::InvalidNonce);
    }
    if let Some(ret) = pm.get(&s("ret")) {
        return Ok(match ret {
            Value::Bool(false) => SignIn::Rejected,
            Value::Str(x) if x == "full" => SignIn::Full,
            _ => SignIn::Retry,
        });
    }
    let (Some((aes, session)), Some(master)) = (session, master) else {
        return Err(malformed("sign-in answer without keys"));
    };
    let publish_port = pm
        .get(&s("publish_port"))
        .and_then(Value::as_int)
        .and_then(|p| u16::try_from(p).ok());
    Ok(SignIn::Accepted(Box::new(Session {
        aes,
        session,
        publish_port,
        master,
    })))
}

/// `AsyncReqChannel._package_load` for an aes request (version 3): adds
/// `nonce`, `ts`, `tok` and `id` to `load`, encrypts it with the session
/// key and wraps it with `enc`, `version`, `id`, `enc_algo`, `sig_algo`.
pub fn package_load(
    mut load: Map,
    id: &str,
    nonce: &str,
    tok: &[u8],
    session: &Crypticle,
    algos: Algos,
) -> Value {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    load.insert(s("nonce"), s(nonce));
    load.insert(s("ts"), Value::Int(ts as i128));
    load.insert(s("tok"), Value::Bytes(tok.to_vec()));
    load.insert(s("id"), s(id));
    let ct = session.dumps(&Value::Map(load), None);
    let mut m = Map::default();
    m.insert(s("enc"), s("aes"));
    m.insert(s("load"), Value::Bytes(ct));
    m.insert(s("version"), Value::Int(3));
    m.insert(s("id"), s(id));
    m.insert(s("enc_algo"), s(algos.enc.name()));
    m.insert(s("sig_algo"), s(algos.sig.name()));
    Value::Map(m)
}

/// The reply to an aes request (`_crypted_transfer`): the session
/// key's message carrying `nonce`. A plain string answer ("bad load",
/// "Some exception handling minion payload", ...) is the master's signal
/// to re-authenticate; an empty reply is `Null`.
pub fn decode_reply(reply: &Value, session: &Crypticle, nonce: &str) -> Result<Value, ClientError> {
    match reply {
        Value::Bytes(b) if b.is_empty() => Ok(Value::Null),
        Value::Bytes(b) => match session.loads(b, Some(nonce)) {
            Ok(v) => Ok(v),
            Err(CrypticleError::Authentication) => {
                Err(ClientError::Reauth("reply did not authenticate".into()))
            }
            Err(e) => Err(e.into()),
        },
        Value::Str(x) => Err(ClientError::Reauth(x.clone())),
        Value::Null => Ok(Value::Null),
        other => Err(malformed(format!("reply is a {}", other.type_name()))),
    }
}

/// `crypted_transfer_decode_dictentry`: the master's `send_private`
/// answer (e.g. to `_pillar`): decrypt the one-time key with the
/// minion's key, the entry `dictkey` with it, check the master's signature
/// over `{key, pillar, nonce}`, that the signed key is the one used and
/// that the nonce is ours; returns the `pillar` entry.
pub fn decode_dictentry(
    reply: &Value,
    dictkey: &str,
    keys: &MinionKeys,
    master: &MasterKey,
    nonce: &str,
    algos: Algos,
) -> Result<Value, ClientError> {
    let Some(m) = reply.as_map() else {
        return match reply {
            Value::Str(x) => Err(ClientError::Reauth(x.clone())),
            other => Err(malformed(format!(
                "private reply is a {}",
                other.type_name()
            ))),
        };
    };
    let Some(ekey) = bytes_of(m.get(&s("key"))) else {
        let why = m
            .get(&s("error"))
            .and_then(Value::as_str)
            .unwrap_or("no key in the private reply");
        return Err(ClientError::Reauth(why.to_string()));
    };
    let aes = text_of(&keys.key.decrypt(ekey, algos.enc)?)?;
    let pcrypt = Crypticle::new(&aes, AES_KEY_SIZE)?;
    let entry = bytes_of(m.get(&s(dictkey))).ok_or_else(|| malformed(format!("no {dictkey}")))?;
    let signed = pcrypt.loads(entry, None)?;
    let data = bytes_of(signed.get("data")).ok_or_else(|| malformed("no signed data"))?;
    let sig = bytes_of(signed.get("sig")).ok_or_else(|| malformed("no signature"))?;
    if !master.key.verify(data, sig, algos.sig) {
        return Err(ClientError::InvalidSignature);
    }
    let inner = payload::loads(data)?;
    if bytes_of(inner.get("key")) != Some(ekey) {
        return Err(malformed("key verification failed"));
    }
    if inner.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(ClientError::InvalidNonce);
    }
    Ok(inner.get("pillar").cloned().unwrap_or(Value::Null))
}

/// Why a publish was not accepted.
#[derive(Debug, Error)]
pub enum PublishError {
    #[error("malformed publish: {0}")]
    Malformed(String),
    #[error("publish signature missing or invalid")]
    BadSignature,
    /// The AES key did not open it: the master rotated its key or
    /// restarted (re-authenticate), or the message was tampered with.
    #[error("publish did not decrypt with the current key")]
    Decrypt,
}

/// `zeromq._decode_messages` + `AsyncPubChannel._decode_payload`: the
/// publish in `frames` (one frame, or a topic and a frame) decrypted with
/// the publish key. `Ok(None)` for a topic not ours. When the payload
/// carries a `sig` it is checked with the master's key (its `sig_algo`);
/// `require_sig` (the minion's `sign_pub_messages`) refuses unsigned ones.
pub fn decode_publish(
    frames: &[Vec<u8>],
    hexid: &str,
    aes: &Crypticle,
    master: &MasterKey,
    require_sig: bool,
) -> Result<Option<Value>, PublishError> {
    let bad = |m: &str| PublishError::Malformed(m.to_string());
    let body = match frames {
        [one] => one,
        [topic, body] => {
            let t = String::from_utf8_lossy(topic);
            if t != "broadcast" && t != hexid {
                return Ok(None);
            }
            body
        }
        _ => return Err(bad("unexpected frame count")),
    };
    let mut pl = payload::loads(body).map_err(|e| PublishError::Malformed(e.to_string()))?;
    // The publish daemon's internal wrapping, if present.
    if let Some(inner) = bytes_of(pl.get("payload")) {
        pl = payload::loads(inner).map_err(|e| PublishError::Malformed(e.to_string()))?;
    }
    if pl.get("enc").and_then(Value::as_str) != Some("aes") {
        return Err(bad("not an aes publish"));
    }
    let load = bytes_of(pl.get("load")).ok_or_else(|| bad("no load"))?;
    match bytes_of(pl.get("sig")) {
        Some(sig) => {
            let algo = match pl.get("sig_algo").and_then(Value::as_str) {
                Some(a) => SigAlgo::parse(a).map_err(|_| PublishError::BadSignature)?,
                None => SigAlgo::Pkcs1v15Sha1,
            };
            if !master.key.verify(load, sig, algo) {
                return Err(PublishError::BadSignature);
            }
        }
        None if require_sig => return Err(PublishError::BadSignature),
        None => {}
    }
    let v = aes.loads(load, None).map_err(|_| PublishError::Decrypt)?;
    if v.as_map().is_none() {
        return Err(bad("load is not a map"));
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("brine-client-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn x931_round_trip_and_tamper() {
        let d = tmp("x931");
        let mk = MinionKeys::load_or_generate(&d, 2048).unwrap();
        let sig = mk.gen_token(b"salt").unwrap();
        assert_eq!(sig.len(), 256);
        let master = MasterKey::from_pem(&mk.pub_pem).unwrap();
        assert_eq!(master.recover(&sig).unwrap(), b"salt");
        let mut bad = sig.clone();
        bad[100] ^= 1;
        assert!(master.recover(&bad).is_err());
        assert!(master.recover(&sig[1..]).is_err());
        let meta = std::fs::metadata(d.join("minion.pem")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o400);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn publish_decoding() {
        let d = tmp("pub");
        let mk = MinionKeys::load_or_generate(&d, 2048).unwrap();
        let master = MasterKey::from_pem(&mk.pub_pem).unwrap();
        let aes = Crypticle::generate(AES_KEY_SIZE);
        let mut load = Map::default();
        load.insert(s("jid"), s("1"));
        let ct = aes.dumps(&Value::Map(load), None);
        let mut p = Map::default();
        p.insert(s("enc"), s("aes"));
        p.insert(
            s("sig"),
            Value::Bytes(mk.key.sign(&ct, SigAlgo::Pkcs1v15Sha1).unwrap()),
        );
        p.insert(s("load"), Value::Bytes(ct.clone()));
        let frame = payload::dumps(&Value::Map(p.clone()));
        let got = decode_publish(std::slice::from_ref(&frame), "x", &aes, &master, true).unwrap();
        assert_eq!(got.unwrap().get("jid").and_then(Value::as_str), Some("1"));
        assert!(decode_publish(
            &[b"other".to_vec(), frame.clone()],
            "x",
            &aes,
            &master,
            false
        )
        .unwrap()
        .is_none());
        // Tampered load: the signature fails.
        let mut t = ct.clone();
        t[20] ^= 1;
        p.insert(s("load"), Value::Bytes(t));
        let frame = payload::dumps(&Value::Map(p.clone()));
        assert!(matches!(
            decode_publish(&[frame], "x", &aes, &master, false),
            Err(PublishError::BadSignature)
        ));
        // Another key: a decrypt failure (re-authenticate).
        p.shift_remove(&s("sig"));
        p.insert(s("load"), Value::Bytes(ct));
        let frame = payload::dumps(&Value::Map(p));
        let other = Crypticle::generate(AES_KEY_SIZE);
        assert!(matches!(
            decode_publish(std::slice::from_ref(&frame), "x", &other, &master, false),
            Err(PublishError::Decrypt)
        ));
        assert!(matches!(
            decode_publish(&[frame], "x", &aes, &master, true),
            Err(PublishError::BadSignature)
        ));
        assert!(decode_publish(&[b"\xc1".to_vec()], "x", &aes, &master, false).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A master answering `_auth` as Salt 3007's `ReqServerChannel._auth`
    /// does with `sign_messages` (auth_mode 1).
    struct FakeMaster {
        key: MinionKeys,
        aes: String,
        session: String,
    }

    impl FakeMaster {
        fn new(dir: &Path) -> FakeMaster {
            FakeMaster {
                key: MinionKeys::load_or_generate(dir, 2048).unwrap(),
                aes: Crypticle::generate_key_string(AES_KEY_SIZE),
                session: Crypticle::generate_key_string(AES_KEY_SIZE),
            }
        }

        fn signed(&self, inner: Map) -> Value {
            let tosign = payload::dumps(&Value::Map(inner));
            let sig = self.key.key.sign(&tosign, SigAlgo::Pkcs1v15Sha1).unwrap();
            let mut m = Map::default();
            m.insert(s("enc"), s("clear"));
            m.insert(s("load"), Value::Bytes(tosign));
            m.insert(s("sig"), Value::Bytes(sig));
            Value::Map(m)
        }

        fn accept(&self, req: &SignInRequest, minion: &MinionKeys) -> Map {
            let mpub = MasterKey::from_pem(&minion.pub_pem).unwrap();
            let mut r = Map::default();
            r.insert(s("enc"), s("pub"));
            r.insert(s("pub_key"), s(&self.key.pub_pem));
            r.insert(s("publish_port"), Value::Int(4505));
            if let Some(tok) = req.load.get("token").and_then(|t| match t {
                Value::Bytes(b) => Some(b.clone()),
                _ => None,
            }) {
                let clear = self.key.key.decrypt(&tok, EncAlgo::OaepSha1).unwrap();
                r.insert(
                    s("token"),
                    Value::Bytes(mpub.key.encrypt(&clear, EncAlgo::OaepSha1).unwrap()),
                );
            }
            let enc =
                |x: &str| Value::Bytes(mpub.key.encrypt(x.as_bytes(), EncAlgo::OaepSha1).unwrap());
            r.insert(s("aes"), enc(&self.aes));
            r.insert(s("session"), enc(&self.session));
            use sha2::Digest;
            let digest: String = sha2::Sha256::digest(self.aes.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            r.insert(
                s("sig"),
                Value::Bytes(self.key.gen_token(digest.as_bytes()).unwrap()),
            );
            r.insert(s("nonce"), req.load.get("nonce").cloned().unwrap());
            r
        }
    }

    #[test]
    fn sign_in_checks() {
        let d = tmp("signin");
        let (mdir, pki) = (d.join("master"), d.join("minion"));
        let master = FakeMaster::new(&mdir);
        let minion = MinionKeys::load_or_generate(&pki, 2048).unwrap();
        let algos = Algos::default();
        let check = SignInCheck {
            pki_dir: pki.clone(),
            ..Default::default()
        };
        // Pending: signed, nonce checked, nothing cached.
        let req = sign_in_payload("m1", &minion, None, algos, None);
        assert!(req.load.get("token").is_none());
        let mut pending = Map::default();
        pending.insert(s("ret"), Value::Bool(true));
        pending.insert(s("nonce"), req.load.get("nonce").cloned().unwrap());
        let got = handle_signin_response(
            &req,
            &master.signed(pending.clone()),
            &minion,
            algos,
            &check,
        );
        assert!(matches!(got, Ok(SignIn::Retry)));
        pending.insert(s("ret"), Value::Bool(false));
        let got = handle_signin_response(
            &req,
            &master.signed(pending.clone()),
            &minion,
            algos,
            &check,
        );
        assert!(matches!(got, Ok(SignIn::Rejected)));
        pending.insert(s("nonce"), s("0000"));
        let got = handle_signin_response(&req, &master.signed(pending), &minion, algos, &check);
        assert!(matches!(got, Err(ClientError::InvalidNonce)));
        // A wrong master_finger refuses the key before caching it.
        let pinned = SignInCheck {
            master_finger: Some("ab:cd".into()),
            ..check.clone()
        };
        let reply = master.signed(master.accept(&req, &minion));
        let got = handle_signin_response(&req, &reply, &minion, algos, &pinned);
        assert!(matches!(got, Err(ClientError::FingerMismatch { .. })));
        assert!(!pki.join(MASTER_PUB).exists());
        // Accepted on first contact: the master's key is cached.
        let right = SignInCheck {
            master_finger: Some(keys::pem_finger(&master.key.pub_pem)),
            ..check.clone()
        };
        let Ok(SignIn::Accepted(sess)) =
            handle_signin_response(&req, &reply, &minion, algos, &right)
        else {
            panic!("not accepted");
        };
        assert_eq!(sess.aes.key_string, master.aes);
        assert_eq!(sess.session.key_string, master.session);
        assert_eq!(sess.publish_port, Some(4505));
        assert!(pki.join(MASTER_PUB).exists());
        // Later sign-ins send a token, which must come back.
        let cached = MasterKey::read_cached(&pki).unwrap().unwrap();
        let req2 = sign_in_payload("m1", &minion, Some(&cached), algos, None);
        assert!(req2.load.get("token").is_some());
        let good = master.accept(&req2, &minion);
        let ok =
            handle_signin_response(&req2, &master.signed(good.clone()), &minion, algos, &check);
        assert!(matches!(ok, Ok(SignIn::Accepted(_))));
        let mut no_tok = good.clone();
        no_tok.shift_remove(&s("token"));
        let got = handle_signin_response(&req2, &master.signed(no_tok), &minion, algos, &check);
        assert!(matches!(got, Err(ClientError::InvalidMasterKey(_))));
        // A tampered answer fails the signature.
        let mut tampered = master.signed(good);
        if let Some(Value::Bytes(b)) = tampered.as_map_mut().unwrap().get_mut(&s("load")) {
            let n = b.len();
            b[n - 3] ^= 1;
        }
        assert!(handle_signin_response(&req2, &tampered, &minion, algos, &check).is_err());
        // Another master (another key) than the cached one is refused.
        let other = FakeMaster::new(&d.join("other"));
        let reply = other.signed(other.accept(&req, &minion));
        let got = handle_signin_response(&req, &reply, &minion, algos, &check);
        assert!(matches!(got, Err(ClientError::InvalidMasterKey(_))));
        // Unsigned algorithm errors are reported; other unsigned answers not.
        let mut bad = Map::default();
        let mut l = Map::default();
        l.insert(s("ret"), s("bad enc algo"));
        bad.insert(s("load"), Value::Map(l.clone()));
        let got = handle_signin_response(&req, &Value::Map(bad.clone()), &minion, algos, &check);
        assert!(matches!(got, Ok(SignIn::BadAlgo(_))));
        l.insert(s("ret"), Value::Bool(true));
        bad.insert(s("load"), Value::Map(l));
        assert!(handle_signin_response(&req, &Value::Map(bad), &minion, algos, &check).is_err());
        assert!(handle_signin_response(&req, &s("junk"), &minion, algos, &check).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn requests_round_trip() {
        let d = tmp("req");
        let minion = MinionKeys::load_or_generate(&d, 2048).unwrap();
        let master = MasterKey::from_pem(&minion.pub_pem).unwrap();
        let sess = Crypticle::generate(AES_KEY_SIZE);
        let tok = minion.gen_token(b"salt").unwrap();
        let mut load = Map::default();
        load.insert(s("cmd"), s("_return"));
        let env = package_load(
            load,
            "m1",
            "n".repeat(32).as_str(),
            &tok,
            &sess,
            Algos::default(),
        );
        assert_eq!(env.get("version"), Some(&Value::Int(3)));
        assert_eq!(env.get("id").and_then(Value::as_str), Some("m1"));
        let Some(Value::Bytes(ct)) = env.get("load") else {
            panic!()
        };
        let inner = sess.loads(ct, None).unwrap();
        assert_eq!(
            inner.get("nonce").and_then(Value::as_str),
            Some("n".repeat(32).as_str())
        );
        assert!(inner.get("ts").and_then(Value::as_int).is_some());
        // The master checks tok by recovering b"salt" with our public key.
        let Some(Value::Bytes(t)) = inner.get("tok") else {
            panic!()
        };
        assert_eq!(master.recover(t).unwrap(), b"salt");
        // Replies: the nonce must match; strings ask for re-auth.
        let reply = Value::Bytes(sess.dumps(&Value::Bool(true), Some(&"n".repeat(32))));
        assert_eq!(
            decode_reply(&reply, &sess, &"n".repeat(32)).unwrap(),
            Value::Bool(true)
        );
        assert!(decode_reply(&reply, &sess, &"m".repeat(32)).is_err());
        assert!(matches!(
            decode_reply(&s("bad load"), &sess, "x"),
            Err(ClientError::Reauth(_))
        ));
        // A private (pillar) answer, as _encrypt_private builds it.
        let nonce = new_nonce();
        let one_time = Crypticle::generate_key_string(AES_KEY_SIZE);
        let ekey = master
            .key
            .encrypt(one_time.as_bytes(), EncAlgo::OaepSha1)
            .unwrap();
        let mut pillar = Map::default();
        pillar.insert(s("greeting"), s("hi"));
        let mut tosign = Map::default();
        tosign.insert(s("key"), Value::Bytes(ekey.clone()));
        tosign.insert(s("pillar"), Value::Map(pillar.clone()));
        tosign.insert(s("nonce"), s(&nonce));
        let data = payload::dumps(&Value::Map(tosign));
        let mut signed = Map::default();
        signed.insert(
            s("sig"),
            Value::Bytes(minion.key.sign(&data, SigAlgo::Pkcs1v15Sha1).unwrap()),
        );
        signed.insert(s("data"), Value::Bytes(data));
        let pc = Crypticle::new(&one_time, AES_KEY_SIZE).unwrap();
        let mut ret = Map::default();
        ret.insert(s("key"), Value::Bytes(ekey));
        ret.insert(
            s("pillar"),
            Value::Bytes(pc.dumps(&Value::Map(signed), None)),
        );
        let ret = Value::Map(ret);
        let got = decode_dictentry(&ret, "pillar", &minion, &master, &nonce, Algos::default());
        assert_eq!(got.unwrap(), Value::Map(pillar));
        assert!(matches!(
            decode_dictentry(&ret, "pillar", &minion, &master, "other", Algos::default()),
            Err(ClientError::InvalidNonce)
        ));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn hexid_is_sha1() {
        assert_eq!(hexid("a"), "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8");
        assert_eq!(new_nonce().len(), 32);
    }
}
