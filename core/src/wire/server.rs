//! The master side of Salt 3007's protocol, as pure functions (no sockets,
//! no files): what `salt/channel/server.py` computes.
//!
//! - [`x931_sign`] / [`x931_recover`]: Salt's `PrivateKey.encrypt` and
//!   `PublicKey.decrypt` (`salt.utils.rsax931`: a raw RSA private-key
//!   operation with ANSI X9.31 padding, as OpenSSL's `RSA_X931_PADDING`).
//!   The master signs the sha256 hex digest of the AES key it hands out
//!   with it (the auth reply's `sig`), minions sign `b"salt"` with it (the
//!   `tok` of every request).
//! - [`decode_request`]: one request frame -> `{enc, load, version, id,
//!   enc_algo, sig_algo}`, every field checked (never panics).
//! - [`clear_signed`]: `_clear_signed`, the signed clear reply of version 2+.
//! - [`accept_reply`]: the auth reply that hands a minion the AES key, its
//!   token and its per-minion session key.
//! - [`encrypt_private`]: `_encrypt_private` (the `_pillar` reply that
//!   `crypted_transfer_decode_dictentry` expects).
//! - [`wrap_publish`]: `PubServerChannel.wrap_payload` + the ZeroMQ
//!   framing of `publish_payload` (topics when `zmq_filtering`).

use super::crypticle::Crypticle;
use super::keys::{EncAlgo, KeyError, PrivateKey, PublicKey, SigAlgo};
use super::payload;
use super::x931;
use crate::value::{Map, Value};

fn k(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// A private key parsed once for raw (X9.31) operations.
pub struct RawPrivateKey(rsa::PrivateKey);

impl RawPrivateKey {
    /// From the key's PEM (the same key [`PrivateKey`] holds).
    pub fn new(key: &PrivateKey) -> Result<RawPrivateKey, KeyError> {
        x931::raw_private(&key.to_pem()?).map(RawPrivateKey)
    }
}

/// Salt's `PrivateKey.encrypt(data)`: X9.31-pad `data` to the modulus size
/// and apply the private exponent; the result is `min(s, n - s)`, as
/// OpenSSL's `RSA_private_encrypt(..., RSA_X931_PADDING)` returns.
pub fn x931_sign(key: &RawPrivateKey, data: &[u8]) -> Result<Vec<u8>, KeyError> {
    x931::sign(&key.0, data)
}

/// Salt's `PublicKey.decrypt(sig)`: undo [`x931_sign`] with the public key
/// `pem` and return the signed data. Any malformed signature is an error.
pub fn x931_recover(pem: &str, sig: &[u8]) -> Result<Vec<u8>, KeyError> {
    x931::recover(&x931::raw_public(pem)?, sig)
}

/// `salt.crypt.clean_key`: strip and normalise line endings.
pub fn clean_key(key: &str) -> String {
    key.trim().lines().collect::<Vec<_>>().join("\n")
}

/// Why a request frame was refused before any handler saw it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequestError {
    #[error("bad load: {0}")]
    Payload(#[from] payload::PayloadError),
    #[error("bad load: the payload is not a map with enc and load")]
    Shape,
    #[error("bad load: {0}")]
    Field(String),
}

/// One decoded request (`ReqServerChannel.handle_message` before dispatch).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `clear` or `aes`.
    pub enc: String,
    /// The clear load (a map) or the encrypted bytes (for `aes`).
    pub load: Value,
    /// Protocol version (0 when absent).
    pub version: i64,
    /// The outer `id` (version 3 aes requests).
    pub id: Option<String>,
    pub enc_algo: EncAlgo,
    pub sig_algo: SigAlgo,
}

/// Decode one request frame: msgpack (bounded by [`payload::loads`]) that
/// must be a map with `enc` and `load`; `enc` must be `clear` or `aes`.
/// Unknown algorithms fall back to Salt's defaults only when absent; a
/// present but unknown name is an error.
pub fn decode_request(frame: &[u8]) -> Result<Request, RequestError> {
    let v = payload::loads(frame)?;
    let Value::Map(m) = v else {
        return Err(RequestError::Shape);
    };
    let (Some(enc), Some(load)) = (m.get(&k("enc")), m.get(&k("load"))) else {
        return Err(RequestError::Shape);
    };
    let enc = match enc.as_str() {
        Some(e @ ("clear" | "aes")) => e.to_string(),
        _ => return Err(RequestError::Field("unknown enc".into())),
    };
    let version = match m.get(&k("version")) {
        None | Some(Value::Null) => 0,
        Some(Value::Int(i)) => (*i).clamp(0, 1000) as i64,
        Some(_) => return Err(RequestError::Field("version is not an integer".into())),
    };
    let id = match m.get(&k("id")) {
        None | Some(Value::Null) => None,
        Some(Value::Str(s)) => Some(s.clone()),
        Some(_) => return Err(RequestError::Field("id is not a string".into())),
    };
    let enc_algo = match m.get(&k("enc_algo")).and_then(Value::as_str) {
        None => EncAlgo::OaepSha1,
        Some(s) => EncAlgo::parse(s).map_err(|e| RequestError::Field(e.to_string()))?,
    };
    let sig_algo = match m.get(&k("sig_algo")).and_then(Value::as_str) {
        None => SigAlgo::Pkcs1v15Sha1,
        Some(s) => SigAlgo::parse(s).map_err(|e| RequestError::Field(e.to_string()))?,
    };
    match (&*enc, load) {
        ("clear", Value::Map(_)) | ("aes", Value::Bytes(_)) | ("aes", Value::Str(_)) => {}
        _ => return Err(RequestError::Field("load has the wrong type".into())),
    }
    Ok(Request {
        enc,
        load: load.clone(),
        version,
        id,
        enc_algo,
        sig_algo,
    })
}

/// The bytes of a binary-or-string value (msgpack raw decodes to a string
/// when it is valid UTF-8).
pub fn value_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Bytes(b) => Some(b.clone()),
        Value::Str(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

/// `_clear_signed(load, algorithm)`: `{enc: clear, load: dumps(load), sig}`.
pub fn clear_signed(load: &Value, key: &PrivateKey, sig_algo: SigAlgo) -> Result<Value, KeyError> {
    let tosign = payload::dumps(load);
    let sig = key.sign(&tosign, sig_algo)?;
    Ok(Value::Map(Map::from_iter([
        (k("enc"), k("clear")),
        (k("load"), Value::Bytes(tosign)),
        (k("sig"), Value::Bytes(sig)),
    ])))
}

/// A clear auth answer `{"ret": ret}` (plus the nonce, signed, for
/// version 2+ requests; a plain `{"enc": "clear", "load": {...}}` before).
pub fn auth_ret(
    ret: Value,
    nonce: Option<&Value>,
    sign_messages: bool,
    key: &PrivateKey,
    sig_algo: SigAlgo,
) -> Value {
    let mut load = Map::from_iter([(k("ret"), ret)]);
    if sign_messages {
        load.insert(k("nonce"), nonce.cloned().unwrap_or(Value::Null));
        match clear_signed(&Value::Map(load.clone()), key, sig_algo) {
            Ok(v) => return v,
            Err(_) => {
                return Value::Map(Map::from_iter([
                    (k("enc"), k("clear")),
                    (
                        k("load"),
                        Value::Map(Map::from_iter([(k("ret"), k("bad sig algo"))])),
                    ),
                ]))
            }
        }
    }
    Value::Map(Map::from_iter([
        (k("enc"), k("clear")),
        (k("load"), Value::Map(load)),
    ]))
}

/// What an accepted minion is handed (`_auth` with `auth_mode` 1).
pub struct AcceptParams<'a> {
    /// The master's private key and the same key parsed for X9.31.
    pub master_key: &'a PrivateKey,
    pub master_raw: &'a RawPrivateKey,
    /// `master.pub` text as `get_pub_str` returns it.
    pub master_pub: &'a str,
    /// The minion's accepted public key.
    pub minion_pub: &'a PublicKey,
    /// The master-wide AES key string and this minion's session key string.
    pub aes_key: &'a str,
    pub session_key: &'a str,
    pub publish_port: i64,
    /// The `token` of the auth load (encrypted to the master), if any.
    pub token: Option<&'a [u8]>,
    pub nonce: Option<&'a Value>,
    pub sign_messages: bool,
    pub enc_algo: EncAlgo,
    pub sig_algo: SigAlgo,
}

/// The accepting auth reply: `{enc: pub, pub_key, publish_port, token?,
/// aes, session, sig}` where `aes`/`session`/`token` are RSA-OAEP encrypted
/// to the minion and `sig` is the X9.31 signature of the sha256 hex digest
/// of the AES key; signed as a clear reply for version 2+.
pub fn accept_reply(p: &AcceptParams) -> Result<Value, KeyError> {
    use sha2::Digest;
    let mut ret = Map::default();
    ret.insert(k("enc"), k("pub"));
    ret.insert(k("pub_key"), Value::Str(p.master_pub.to_string()));
    ret.insert(k("publish_port"), Value::Int(p.publish_port as i128));
    if let Some(tok) = p.token {
        // Salt logs a token that fails to decrypt and carries on.
        if let Ok(mtoken) = p.master_key.decrypt(tok, p.enc_algo) {
            ret.insert(
                k("token"),
                Value::Bytes(p.minion_pub.encrypt(&mtoken, p.enc_algo)?),
            );
        }
    }
    ret.insert(
        k("aes"),
        Value::Bytes(p.minion_pub.encrypt(p.aes_key.as_bytes(), p.enc_algo)?),
    );
    ret.insert(
        k("session"),
        Value::Bytes(p.minion_pub.encrypt(p.session_key.as_bytes(), p.enc_algo)?),
    );
    let digest = sha2::Sha256::digest(p.aes_key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    ret.insert(
        k("sig"),
        Value::Bytes(x931_sign(p.master_raw, hex.as_bytes())?),
    );
    if p.sign_messages {
        ret.insert(k("nonce"), p.nonce.cloned().unwrap_or(Value::Null));
        return clear_signed(&Value::Map(ret), p.master_key, p.sig_algo);
    }
    Ok(Value::Map(ret))
}

/// `_encrypt_private(ret, dictkey, target, nonce, sign_messages)`: a fresh
/// AES key encrypted to the minion (`key`), and under `dictkey` the reply
/// encrypted with it, signed by the master for version 2+ (`{data, sig}`
/// where data is `dumps({key, pillar, nonce})`).
#[allow(clippy::too_many_arguments)]
pub fn encrypt_private(
    ret: &Value,
    dictkey: &str,
    minion_pub: &PublicKey,
    master_key: &PrivateKey,
    nonce: Option<&str>,
    sign_messages: bool,
    enc_algo: EncAlgo,
    sig_algo: SigAlgo,
) -> Result<Value, KeyError> {
    let key = Crypticle::generate_key_string(192);
    let pcrypt = Crypticle::new(&key, 192).map_err(|e| KeyError::Rsa(e.to_string()))?;
    let enc_key = minion_pub.encrypt(key.as_bytes(), enc_algo)?;
    let ret = if *ret == Value::Bool(false) {
        Value::map()
    } else {
        ret.clone()
    };
    let mut pret = Map::default();
    pret.insert(k("key"), Value::Bytes(enc_key.clone()));
    if sign_messages {
        let Some(nonce) = nonce else {
            return Ok(Value::Map(Map::from_iter([(
                k("error"),
                k("Nonce not included in request"),
            )])));
        };
        let tosign = payload::dumps(&Value::Map(Map::from_iter([
            (k("key"), Value::Bytes(enc_key)),
            (k("pillar"), ret),
            (k("nonce"), k(nonce)),
        ])));
        let sig = master_key.sign(&tosign, sig_algo)?;
        let signed = Value::Map(Map::from_iter([
            (k("data"), Value::Bytes(tosign)),
            (k("sig"), Value::Bytes(sig)),
        ]));
        pret.insert(k(dictkey), Value::Bytes(pcrypt.dumps(&signed, None)));
    } else {
        pret.insert(k(dictkey), Value::Bytes(pcrypt.dumps(&ret, None)));
    }
    Ok(Value::Map(pret))
}

/// The ZeroMQ topic a minion subscribes to under `zmq_filtering`: the
/// sha1 hex digest of its id.
pub fn topic_for(id: &str) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How a publication is wrapped.
pub struct PublishWrap<'a> {
    pub crypticle: &'a Crypticle,
    /// Sign the encrypted load (`sign_pub_messages`) with this key.
    pub sign: Option<(&'a PrivateKey, SigAlgo)>,
    /// `Some(ids)` when `zmq_filtering` is on and the target resolves to
    /// these minions (glob/pcre/list); `None` for a broadcast.
    pub topics: Option<&'a [String]>,
    /// Whether `zmq_filtering` is on at all.
    pub zmq_filtering: bool,
    /// The serial put in the load (Salt's `SMaster.get_serial()`).
    pub serial: i64,
}

/// `wrap_payload` + `publish_payload`: the multipart messages to send on
/// the PUB socket for `load` (each a list of frames).
pub fn wrap_publish(load: &Map, w: &PublishWrap) -> Result<Vec<Vec<Vec<u8>>>, KeyError> {
    let mut load = load.clone();
    load.insert(k("serial"), Value::Int(w.serial as i128));
    let enc = w.crypticle.dumps(&Value::Map(load), None);
    let mut payload_map = Map::default();
    payload_map.insert(k("enc"), k("aes"));
    if let Some((key, algo)) = w.sign {
        let sig = key.sign(&enc, algo)?;
        payload_map.insert(k("load"), Value::Bytes(enc));
        payload_map.insert(k("sig_algo"), k(sig_algo_name(algo)));
        payload_map.insert(k("sig"), Value::Bytes(sig));
    } else {
        payload_map.insert(k("load"), Value::Bytes(enc));
    }
    let body = payload::dumps(&Value::Map(payload_map));
    if !w.zmq_filtering {
        return Ok(vec![vec![body]]);
    }
    match w.topics {
        Some(ids) => Ok(ids
            .iter()
            .map(|id| vec![topic_for(id).into_bytes(), body.clone()])
            .collect()),
        None => Ok(vec![vec![b"broadcast".to_vec(), body]]),
    }
}

/// Salt's name of a signing algorithm.
pub fn sig_algo_name(a: SigAlgo) -> &'static str {
    a.name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x931_round_trip_and_tamper() {
        let key = PrivateKey::generate(2048).unwrap();
        let raw = RawPrivateKey::new(&key).unwrap();
        let pem = key.public_key().to_pem().unwrap();
        let sig = x931_sign(&raw, b"salt").unwrap();
        assert_eq!(sig.len(), 256);
        assert_eq!(x931_recover(&pem, &sig).unwrap(), b"salt");
        let mut bad = sig.clone();
        bad[100] ^= 1;
        assert!(x931_recover(&pem, &bad).is_err());
        assert!(x931_recover(&pem, &sig[1..]).is_err());
        assert!(x931_recover(&pem, &[0xff; 256]).is_err());
    }

    #[test]
    fn decode_request_checks_fields() {
        assert!(decode_request(b"\x93").is_err());
        assert_eq!(
            decode_request(&payload::dumps(&Value::from("x"))),
            Err(RequestError::Shape)
        );
        let mut m = Map::default();
        m.insert(k("enc"), k("clear"));
        m.insert(k("load"), Value::map());
        m.insert(k("version"), Value::Int(3));
        let r = decode_request(&payload::dumps(&Value::Map(m.clone()))).unwrap();
        assert_eq!(r.version, 3);
        m.insert(k("enc"), k("rot13"));
        assert!(decode_request(&payload::dumps(&Value::Map(m.clone()))).is_err());
        m.insert(k("enc"), k("aes"));
        assert!(decode_request(&payload::dumps(&Value::Map(m))).is_err());
    }

    #[test]
    fn topics_and_broadcast() {
        // hashlib.sha1(b"m1").hexdigest()
        assert_eq!(topic_for("m1"), "ae23b94ccaf714337e4ce5ba99ef3dc257e300df");
        assert_eq!(topic_for("").len(), 40);
        let c = Crypticle::generate(192);
        let load = Map::from_iter([(k("fun"), k("test.ping"))]);
        let w = PublishWrap {
            crypticle: &c,
            sign: None,
            topics: None,
            zmq_filtering: true,
            serial: 1,
        };
        let msgs = wrap_publish(&load, &w).unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0][0], b"broadcast");
        let outer = payload::loads(&msgs[0][1]).unwrap();
        let inner = c
            .loads(&value_bytes(outer.get("load").unwrap()).unwrap(), None)
            .unwrap();
        assert_eq!(inner.get("serial"), Some(&Value::Int(1)));
    }
}
