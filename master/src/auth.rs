//! The `_auth` exchange and the master's AES session (salt/channel/server.py
//! `ReqServerChannel._auth`, `session_key`, `validate_token`;
//! salt/master.py `SMaster.rotate_secrets`; salt/daemons/masterapi.py
//! `AutoKey`).
//!
//! - The master-wide AES key (a Crypticle key string) encrypts publications;
//!   it is handed to each accepted minion in the auth reply and replaced by
//!   [`Auth::rotate`] when a minion key is deleted or rejected (the `.dfn`
//!   marker) or `publish_session` seconds have passed, so a removed minion
//!   cannot read later publications. The publish serial restarts at 0.
//! - Each minion also gets a session key (`cachedir/sessions/ID`, renewed
//!   after `publish_session` seconds) for its version 3 requests.
//! - Key states follow Salt's order: open_mode, rejected, accepted (same
//!   key, else denied), new (autoreject -> rejected, autosign/auto_accept ->
//!   accepted, else pending), pending (autoreject, autosign, same key or
//!   denied). Every decision fires `salt/auth` when `auth_events` is on.

use crate::events::EventBus;
use crate::keys::{valid_id, KeyState, KeyStore};
use brine_core::config::fnmatch;
use brine_core::value::{Map, Value};
use brine_core::wire::crypticle::Crypticle;
use brine_core::wire::keys::{EncAlgo, PrivateKey, PublicKey, SigAlgo};
use brine_core::wire::server::{self, AcceptParams, RawPrivateKey};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

fn k(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// Why the auth component could not start.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("master key: {0}")]
    Key(#[from] brine_core::wire::keys::KeyError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

struct Aes {
    crypticle: Crypticle,
    serial: i64,
    since: Instant,
}

/// `salt.utils.stringutils.expr_match`: glob, then `\A expr \Z` regex.
pub fn expr_match(line: &str, expr: &str) -> bool {
    if fnmatch(line, expr) {
        return true;
    }
    regex::Regex::new(&format!(r"\A(?:{expr})\z"))
        .map(|re| re.is_match(line))
        .unwrap_or(false)
}

/// The auth state of the master.
pub struct Auth {
    opts: Map,
    keys: KeyStore,
    master_key: PrivateKey,
    master_raw: RawPrivateKey,
    master_pub: String,
    cachedir: PathBuf,
    aes: RwLock<Aes>,
    sessions: Mutex<HashMap<String, (SystemTime, String)>>,
    bus: Arc<EventBus>,
    /// (mtime, entries) of the autosign/autoreject files.
    signing_files: Mutex<HashMap<PathBuf, (SystemTime, Vec<String>)>>,
}

impl Auth {
    /// Auth over the key store with the master's key pair; a fresh AES key.
    pub fn new(
        opts: &Map,
        keys: KeyStore,
        master_key: PrivateKey,
        bus: Arc<EventBus>,
    ) -> Result<Auth, AuthError> {
        let master_raw = RawPrivateKey::new(&master_key)?;
        let master_pub = match keys.master_pub_pem() {
            Some(p) => server::clean_key(&p),
            None => server::clean_key(&master_key.public_key().to_pem()?),
        };
        let cachedir = PathBuf::from(crate::config::opt_str(opts, "cachedir").unwrap_or("."));
        let sessions = cachedir.join("sessions");
        std::fs::create_dir_all(&sessions).map_err(|source| AuthError::Io {
            path: sessions.display().to_string(),
            source,
        })?;
        Ok(Auth {
            opts: opts.clone(),
            keys,
            master_key,
            master_raw,
            master_pub,
            cachedir,
            aes: RwLock::new(Aes {
                crypticle: Crypticle::generate(192),
                serial: 0,
                since: Instant::now(),
            }),
            sessions: Mutex::new(HashMap::new()),
            bus,
            signing_files: Mutex::new(HashMap::new()),
        })
    }

    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    pub fn master_key(&self) -> &PrivateKey {
        &self.master_key
    }

    /// The current master-wide AES crypticle.
    pub fn crypticle(&self) -> Crypticle {
        self.aes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .crypticle
            .clone()
    }

    /// The current AES key string.
    pub fn aes_key(&self) -> String {
        self.crypticle().key_string
    }

    /// Run `f` with the current crypticle and the next publish serial
    /// (Salt's `get_serial`), atomically with respect to [`Auth::rotate`].
    pub fn with_next_serial<T>(&self, f: impl FnOnce(&Crypticle, i64) -> T) -> T {
        let mut a = self.aes.write().unwrap_or_else(|e| e.into_inner());
        a.serial = if a.serial == i64::MAX {
            0
        } else {
            a.serial + 1
        };
        let s = a.serial;
        f(&a.crypticle, s)
    }

    /// `SMaster.rotate_secrets`: a new AES key, the serial back to 0.
    pub fn rotate(&self) {
        let mut a = self.aes.write().unwrap_or_else(|e| e.into_inner());
        a.crypticle = Crypticle::generate(192);
        a.serial = 0;
        a.since = Instant::now();
        tracing::info!("Rotating master AES key");
    }

    /// Rotate when `publish_session` seconds have passed (Salt's
    /// Maintenance `handle_key_rotate`). Returns whether it rotated.
    pub fn rotate_if_expired(&self) -> bool {
        let secs = crate::config::opt_int(&self.opts, "publish_session", 86400);
        if secs <= 0 {
            return false;
        }
        let expired = self
            .aes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .since
            .elapsed()
            >= Duration::from_secs(secs as u64);
        if expired {
            self.rotate();
        }
        expired
    }

    fn sessions_dir(&self) -> PathBuf {
        self.cachedir.join("sessions")
    }

    /// `session_key(minion)`: the minion's session key string, renewed
    /// after `publish_session` seconds (file `cachedir/sessions/ID`, 0600).
    pub fn session_key(&self, id: &str) -> Option<String> {
        if !valid_id(id) {
            return None;
        }
        let ttl = crate::config::opt_int(&self.opts, "publish_session", 86400).max(1) as u64;
        let now = SystemTime::now();
        let fresh = |t: SystemTime| {
            now.duration_since(t)
                .map(|d| d.as_secs() < ttl)
                .unwrap_or(true)
        };
        let mut cache = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, key)) = cache.get(id) {
            if fresh(*t) {
                return Some(key.clone());
            }
        }
        let path = self.sessions_dir().join(id);
        let on_disk = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .filter(|t| fresh(*t))
            .and_then(|_| std::fs::read_to_string(&path).ok())
            .filter(|s| Crypticle::new(s, 192).is_ok());
        let key = match on_disk {
            Some(s) => s,
            None => {
                let s = Crypticle::generate_key_string(192);
                if let Err(e) = brine_core::fsutil::write_atomic(&path, s.as_bytes(), Some(0o600)) {
                    tracing::error!("Cannot write session key {}: {}", path.display(), e);
                }
                s
            }
        };
        let mtime = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .unwrap_or(now);
        cache.insert(id.to_string(), (mtime, key.clone()));
        Some(key)
    }

    /// Forget a minion's session (its key was removed).
    pub fn drop_session(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if valid_id(id) {
            let _ = std::fs::remove_file(self.sessions_dir().join(id));
        }
    }

    /// `verify_minion` / `validate_token`: `tok` must X9.31-verify as
    /// `b"salt"` with the minion's ACCEPTED public key.
    pub fn verify_token(&self, id: &str, tok: &[u8]) -> bool {
        let Some(pem) = self.keys.pem_in(KeyState::Accepted, id) else {
            tracing::warn!(
                "Salt minion claiming to be {} attempted to communicate with master, but key could not be read and verification was denied.",
                id
            );
            return false;
        };
        match server::x931_recover(&pem, tok) {
            Ok(d) if d == b"salt" => true,
            _ => {
                tracing::error!("Minion token did not validate: {}", id);
                false
            }
        }
    }

    fn check_signing_file(&self, id: &str, opt: &str) -> bool {
        let Some(file) = crate::config::opt_str(&self.opts, opt) else {
            return false;
        };
        let path = Path::new(file);
        let Ok(meta) = std::fs::metadata(path) else {
            return false;
        };
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o002 != 0
            || (mode & 0o020 != 0
                && !crate::config::opt_bool(&self.opts, "permissive_pki_access", false))
        {
            tracing::warn!("Wrong permissions for {}, ignoring content", file);
            return false;
        }
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let mut cache = self.signing_files.lock().unwrap_or_else(|e| e.into_inner());
        let stale = cache.get(path).is_none_or(|(t, _)| *t != mtime);
        if stale {
            let entries = std::fs::read_to_string(path)
                .unwrap_or_default()
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.starts_with('#'))
                .collect();
            cache.insert(path.to_path_buf(), (mtime, entries));
        }
        cache
            .get(path)
            .is_some_and(|(_, e)| e.iter().any(|l| expr_match(id, l)))
    }

    fn check_autosign_dir(&self, id: &str) -> bool {
        let dir = self.keys.pki_dir().join("minions_autosign");
        let expire = crate::config::opt_int(&self.opts, "autosign_timeout", 120);
        if expire > 0 {
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for e in rd.flatten() {
                    let old = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|d| d.as_secs() > 60 * expire as u64);
                    if old {
                        tracing::warn!("Autosign keyid expired {}", e.path().display());
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
        let stub = dir.join(id);
        stub.is_file() && std::fs::remove_file(stub).is_ok()
    }

    /// `AutoKey.check_autosign` (without autosign_grains).
    pub fn check_autosign(&self, id: &str) -> bool {
        matches!(self.opts.get(&k("auto_accept")), Some(Value::Bool(true)))
            || self.check_signing_file(id, "autosign_file")
            || self.check_autosign_dir(id)
    }

    /// `AutoKey.check_autoreject`.
    pub fn check_autoreject(&self, id: &str) -> bool {
        self.check_signing_file(id, "autoreject_file")
    }

    fn fire(&self, result: bool, act: Option<&str>, id: &str, pub_: &str) {
        if !matches!(
            self.opts.get(&k("auth_events")),
            Some(Value::Bool(true)) | None
        ) {
            return;
        }
        let mut m = Map::default();
        m.insert(k("result"), Value::Bool(result));
        if let Some(a) = act {
            m.insert(k("act"), k(a));
        }
        m.insert(k("id"), k(id));
        m.insert(k("pub"), k(pub_));
        self.bus.fire("salt/auth", Value::Map(m));
    }

    /// `_auth(load, sign_messages, version)`: the reply to a clear `_auth`.
    pub fn handle_auth(&self, load: &Map, version: i64) -> Value {
        let sign = version > 1;
        let enc_algo = match load.get(&k("enc_algo")).and_then(Value::as_str) {
            None => Ok(EncAlgo::OaepSha1),
            Some(s) => EncAlgo::parse(s),
        };
        let sig_algo = match load.get(&k("sig_algo")).and_then(Value::as_str) {
            None => Some(SigAlgo::Pkcs1v15Sha1),
            Some(s) => SigAlgo::parse(s).ok(),
        };
        let nonce = load.get(&k("nonce"));
        let Some(sig_algo) = sig_algo else {
            return Value::Map(Map::from_iter([
                (k("enc"), k("clear")),
                (
                    k("load"),
                    Value::Map(Map::from_iter([(k("ret"), k("bad sig algo"))])),
                ),
            ]));
        };
        let reply = |ret: Value| server::auth_ret(ret, nonce, sign, &self.master_key, sig_algo);
        let id = load.get(&k("id")).and_then(Value::as_str).unwrap_or("");
        if !valid_id(id) {
            tracing::info!("Authentication request from invalid id {:?}", id);
            return reply(Value::Bool(false));
        }
        let pub_ = load.get(&k("pub")).and_then(Value::as_str).unwrap_or("");
        tracing::info!("Authentication request from {}", id);
        let Ok(enc_algo) = enc_algo else {
            return Value::Map(Map::from_iter([
                (k("enc"), k("clear")),
                (
                    k("load"),
                    Value::Map(Map::from_iter([(k("ret"), k("bad enc algo"))])),
                ),
            ]));
        };
        let open_mode = matches!(self.opts.get(&k("open_mode")), Some(Value::Bool(true)));
        let same = |a: &str| server::clean_key(a) == server::clean_key(pub_);
        let denied = |msg: &str| {
            tracing::error!(
                "Authentication attempt from {} failed, the public {} did not match. This may be an attempt to compromise the Salt cluster.",
                id,
                msg
            );
            if let Err(e) = self.keys.add_denied(id, pub_) {
                tracing::error!("{}", e);
            }
            self.fire(false, Some("denied"), id, pub_);
            reply(Value::Bool(false))
        };
        if !open_mode {
            let auto_reject = self.check_autoreject(id);
            let auto_sign = self.check_autosign(id);
            if self.keys.pem_in(KeyState::Rejected, id).is_some() {
                tracing::info!(
                    "Public key rejected for {}. Key is present in rejection key dir.",
                    id
                );
                self.fire(false, None, id, pub_);
                return reply(Value::Bool(false));
            } else if let Some(acc) = self.keys.pem_in(KeyState::Accepted, id) {
                if !same(&acc) {
                    return denied("keys");
                }
            } else if let Some(pend) = self.keys.pem_in(KeyState::Pending, id) {
                if auto_reject {
                    let _ = self
                        .keys
                        .move_key(id, &[KeyState::Pending], KeyState::Rejected);
                    tracing::info!("Pending public key for {} rejected via autoreject_file", id);
                    self.fire(false, Some("reject"), id, pub_);
                    return reply(Value::Bool(false));
                } else if !auto_sign {
                    if !same(&pend) {
                        return denied("key in pending");
                    }
                    tracing::info!(
                        "Authentication failed from host {}, the key is in pending and needs to be accepted with salt-key -a {}",
                        id,
                        id
                    );
                    self.fire(true, Some("pend"), id, pub_);
                    return reply(Value::Bool(true));
                } else {
                    if !same(&pend) {
                        return denied("keys in pending");
                    }
                    let _ = self.keys.delete_in(id, &[KeyState::Pending]);
                }
            } else {
                // A new minion.
                if pub_.trim().is_empty() || PublicKey::from_pem(pub_).is_err() {
                    tracing::error!("Corrupt public key from {}", id);
                    self.fire(false, None, id, pub_);
                    return reply(Value::Bool(false));
                }
                if auto_reject {
                    tracing::info!("New public key for {} rejected via autoreject_file", id);
                    if let Err(e) = self.keys.add_rejected(id, pub_) {
                        tracing::error!("{}", e);
                    }
                    self.fire(false, Some("reject"), id, pub_);
                    return reply(Value::Bool(false));
                } else if !auto_sign {
                    tracing::info!("New public key for {} placed in pending", id);
                    if let Err(e) = self.keys.add_pending(id, pub_) {
                        tracing::error!("{}", e);
                    }
                    self.fire(true, Some("pend"), id, pub_);
                    return reply(Value::Bool(true));
                }
            }
        }
        tracing::info!("Authentication accepted from {}", id);
        let on_disk = self.keys.pem_in(KeyState::Accepted, id);
        if open_mode {
            if pub_.is_empty() {
                tracing::error!("Public key is empty: {}", id);
                return reply(Value::Bool(false));
            }
            if on_disk.as_deref() != Some(pub_) {
                if let Err(e) = self.keys.add_accepted(id, pub_) {
                    tracing::error!("{}", e);
                }
            }
        } else if on_disk.is_none() {
            if let Err(e) = self.keys.add_accepted(id, pub_) {
                tracing::error!("{}", e);
            }
        }
        let minion_pub = match self
            .keys
            .pem_in(KeyState::Accepted, id)
            .map(|p| PublicKey::from_pem(&p))
        {
            Some(Ok(p)) => p,
            _ => {
                tracing::error!("Corrupt public key \"{}\"", id);
                return reply(Value::Bool(false));
            }
        };
        let Some(session) = self.session_key(id) else {
            return reply(Value::Bool(false));
        };
        let aes = self.aes_key();
        let token = load.get(&k("token")).and_then(server::value_bytes);
        let publish_port = crate::config::opt_int(&self.opts, "publish_port", 4505);
        let params = AcceptParams {
            master_key: &self.master_key,
            master_raw: &self.master_raw,
            master_pub: &self.master_pub,
            minion_pub: &minion_pub,
            aes_key: &aes,
            session_key: &session,
            publish_port,
            token: token.as_deref(),
            nonce,
            sign_messages: sign,
            enc_algo,
            sig_algo,
        };
        match server::accept_reply(&params) {
            Ok(v) => {
                if version < 3 {
                    tracing::warn!(
                        "Minion using legacy request server protocol, please upgrade {}",
                        id
                    );
                }
                self.fire(true, Some("accept"), id, pub_);
                v
            }
            Err(e) => {
                tracing::error!("Cannot build the auth reply for {}: {}", id, e);
                reply(Value::Bool(false))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expr_match_globs_and_regexes() {
        assert!(expr_match("web1", "web*"));
        assert!(expr_match("web1", r"web\d"));
        assert!(!expr_match("web1x", r"web\d"));
        assert!(!expr_match("db1", "web*"));
        assert!(!expr_match("db1", "("));
    }
}
