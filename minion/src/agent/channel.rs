//! The request channel to the master (Salt's `AsyncReqChannel` with its
//! `AsyncAuth`): ZeroMQ REQ sockets to `master_port`, the `_auth` sign-in
//! with Salt's backoff while the key is pending, and encrypted requests
//! that re-authenticate once when the master answers that the session is
//! gone (a master restart or an AES rotation).
//!
//! REQ sockets are pooled; one whose reply timed out is closed and a new
//! one is made, so a lost reply never leaves a socket stuck.

use super::AgentError;
use brine_core::value::{Map, Value};
use brine_core::wire::client::{
    self, Algos, ClientError, MasterKey, MinionKeys, Session, SignIn, SignInCheck,
};
use brine_core::wire::payload;
use brine_core::wire::sockets::{self, SocketOpts};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The settings the channel reads from the minion config.
#[derive(Debug, Clone)]
pub struct ChannelOpts {
    pub id: String,
    pub master: String,
    pub master_port: u16,
    pub auth_timeout: Duration,
    pub auth_tries: u32,
    pub acceptance_wait_time: Duration,
    pub acceptance_wait_time_max: Duration,
    pub rejected_retry: bool,
    pub check: SignInCheck,
    pub algos: Algos,
}

/// How long until the next sign-in after a pending answer: `wait` grows by
/// `acceptance_wait_time` up to `acceptance_wait_time_max` (when set), as
/// the Salt minion's `_wait` loop does.
pub fn next_wait(current: Duration, base: Duration, max: Duration) -> Duration {
    if max > Duration::ZERO && current < max {
        (current + base).min(max)
    } else {
        current
    }
}

/// The channel, shared by every thread of the agent.
pub struct MasterChannel {
    pub opts: ChannelOpts,
    pub keys: MinionKeys,
    zctx: zmq::Context,
    so: SocketOpts,
    uri: String,
    /// Idle REQ sockets and when each was last used.
    pool: Mutex<Vec<(zmq::Socket, Instant)>>,
    session: Mutex<Option<Arc<Session>>>,
    /// Bumped at every successful sign-in.
    generation: AtomicU64,
    auth_lock: Mutex<()>,
    /// `gen_token(b"salt")`, made once.
    tok: Vec<u8>,
    /// Set to stop waiting loops (shutdown).
    pub stop: AtomicBool,
}

impl MasterChannel {
    pub fn new(
        opts: ChannelOpts,
        keys: MinionKeys,
        zctx: zmq::Context,
        so: SocketOpts,
    ) -> Result<MasterChannel, AgentError> {
        let uri = sockets::tcp_endpoint(&opts.master, opts.master_port);
        let tok = keys.gen_token(b"salt")?;
        Ok(MasterChannel {
            opts,
            keys,
            zctx,
            so,
            uri,
            pool: Mutex::new(Vec::new()),
            session: Mutex::new(None),
            generation: AtomicU64::new(0),
            auth_lock: Mutex::new(()),
            tok,
            stop: AtomicBool::new(false),
        })
    }

    /// The current session, if signed in.
    pub fn session(&self) -> Option<(Arc<Session>, u64)> {
        let s = self.session.lock().ok()?.clone()?;
        Some((s, self.generation.load(Ordering::SeqCst)))
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Send one message and wait up to `timeout` for the reply. A socket
    /// that timed out (or failed) is dropped, never reused.
    fn send_raw(&self, msg: &Value, timeout: Duration) -> Result<Value, AgentError> {
        let sock = match self.pool.lock().ok().and_then(|mut p| p.pop()) {
            Some((s, _)) => s,
            None => {
                let s = sockets::socket(&self.zctx, zmq::REQ, &self.so)?;
                s.connect(&self.uri)?;
                s
            }
        };
        let bytes = payload::dumps(msg);
        sock.send(bytes, 0)?;
        let ms = timeout.as_millis().clamp(1, i64::MAX as u128) as i64;
        if sock.poll(zmq::POLLIN, ms)? == 0 {
            // Dropped here: linger 0, the pending request is discarded.
            return Err(AgentError::Timeout);
        }
        let reply = sock.recv_bytes(0)?;
        if let Ok(mut p) = self.pool.lock() {
            if p.len() < 4 {
                p.push((sock, Instant::now()));
            }
        }
        Ok(payload::loads(&reply).map_err(ClientError::from)?)
    }

    /// Close the pooled REQ sockets unused for `max_idle`: an idle minion
    /// holds no request connection to the master (Salt opens a request
    /// channel per call), which keeps a master with many minions small.
    pub fn close_idle(&self, max_idle: Duration) {
        if let Ok(mut p) = self.pool.lock() {
            p.retain(|(_, used)| used.elapsed() < max_idle);
        }
    }

    /// `send_raw` retried `tries` times on timeout.
    fn send_tries(&self, msg: &Value, timeout: Duration, tries: u32) -> Result<Value, AgentError> {
        let mut last = AgentError::Timeout;
        for _ in 0..tries.max(1) {
            match self.send_raw(msg, timeout) {
                Err(AgentError::Timeout) => last = AgentError::Timeout,
                other => return other,
            }
        }
        Err(last)
    }

    /// One `_auth` exchange.
    pub fn sign_in_once(&self) -> Result<SignIn, AgentError> {
        let cached = MasterKey::read_cached(&self.opts.check.pki_dir)?;
        let req = client::sign_in_payload(
            &self.opts.id,
            &self.keys,
            cached.as_ref(),
            self.opts.algos,
            None,
        );
        let reply = self.send_tries(
            &client::clear_envelope(req.load.clone()),
            self.opts.auth_timeout,
            self.opts.auth_tries,
        )?;
        Ok(client::handle_signin_response(
            &req,
            &reply,
            &self.keys,
            self.opts.algos,
            &self.opts.check,
        )?)
    }

    /// Sign in, waiting while the key is pending; `seen` is the session
    /// generation the caller found broken (a newer one is reused instead of
    /// signing in again). A rejected key ends the process as Salt does,
    /// unless `rejected_retry` is set.
    pub fn authenticate(&self, seen: Option<u64>) -> Result<Arc<Session>, AgentError> {
        let _guard = self.auth_lock.lock().map_err(|_| AgentError::Stopped)?;
        if let (Some((s, g)), Some(seen)) = (self.session(), seen) {
            if g != seen {
                return Ok(s);
            }
        }
        let mut wait = self.opts.acceptance_wait_time;
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Err(AgentError::Stopped);
            }
            let outcome = match self.sign_in_once() {
                Ok(o) => o,
                Err(AgentError::Timeout) => {
                    tracing::warn!("Master {} did not answer the sign-in", self.uri);
                    SignIn::Retry
                }
                Err(AgentError::Client(e @ ClientError::FingerMismatch { .. })) => {
                    tracing::error!("{e}");
                    return Err(AgentError::Fatal(42, e.to_string()));
                }
                Err(AgentError::Client(e @ ClientError::InvalidMasterKey(_))) => {
                    tracing::error!("{e}");
                    return Err(AgentError::Fatal(1, e.to_string()));
                }
                Err(e) => {
                    tracing::error!("Sign-in attempt failed: {e}");
                    SignIn::Retry
                }
            };
            match outcome {
                SignIn::Accepted(s) => {
                    let s: Arc<Session> = Arc::from(s);
                    if let Ok(mut g) = self.session.lock() {
                        *g = Some(s.clone());
                    }
                    self.generation.fetch_add(1, Ordering::SeqCst);
                    tracing::info!("Authentication with master {} successful", self.uri);
                    return Ok(s);
                }
                SignIn::Rejected if !self.opts.rejected_retry => {
                    tracing::error!(
                        "The Salt Master has rejected this minion's public key! To repair this \
                         issue, delete the public key for this minion on the Salt Master and \
                         restart this minion. The minion will now exit."
                    );
                    return Err(AgentError::Rejected);
                }
                SignIn::Rejected => tracing::error!(
                    "The Salt Master has rejected this minion's public key; retrying"
                ),
                SignIn::Full => tracing::error!("The Salt Master is full"),
                SignIn::BadAlgo(a) => {
                    return Err(AgentError::Fatal(1, format!("sign-in failed: {a}")))
                }
                SignIn::Retry => tracing::info!(
                    "Waiting {} seconds before retry (key pending or master unavailable)",
                    wait.as_secs()
                ),
            }
            self.sleep(wait);
            wait = next_wait(
                wait,
                self.opts.acceptance_wait_time,
                self.opts.acceptance_wait_time_max,
            );
        }
    }

    /// Sleep in short steps, waking early on stop.
    pub fn sleep(&self, d: Duration) {
        let end = Instant::now() + d;
        while !self.stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            if now >= end {
                break;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(200)));
        }
    }

    fn current(&self) -> Result<(Arc<Session>, u64), AgentError> {
        match self.session() {
            Some(s) => Ok(s),
            None => {
                self.authenticate(None)?;
                self.session().ok_or(AgentError::Stopped)
            }
        }
    }

    /// An encrypted request (`_crypted_transfer`): the master's answer.
    /// Re-authenticates once when the master no longer knows the session.
    pub fn request(&self, load: Map, timeout: Duration, tries: u32) -> Result<Value, AgentError> {
        let (sess, generation) = self.current()?;
        match self.request_with(&sess, load.clone(), timeout, tries) {
            Err(AgentError::Client(ClientError::Reauth(why))) => {
                tracing::info!("Re-authenticating with the master: {why}");
                let sess = self.authenticate(Some(generation))?;
                self.request_with(&sess, load, timeout, tries)
            }
            other => other,
        }
    }

    fn request_with(
        &self,
        sess: &Session,
        load: Map,
        timeout: Duration,
        tries: u32,
    ) -> Result<Value, AgentError> {
        let nonce = client::new_nonce();
        let env = client::package_load(
            load,
            &self.opts.id,
            &nonce,
            &self.tok,
            &sess.session,
            self.opts.algos,
        );
        let reply = self.send_tries(&env, timeout, tries)?;
        Ok(client::decode_reply(&reply, &sess.session, &nonce)?)
    }

    /// `crypted_transfer_decode_dictentry` (e.g. `_pillar` with
    /// `dictkey="pillar"`).
    pub fn request_private(
        &self,
        load: Map,
        dictkey: &str,
        timeout: Duration,
    ) -> Result<Value, AgentError> {
        let (sess, generation) = self.current()?;
        match self.private_with(&sess, load.clone(), dictkey, timeout) {
            Err(AgentError::Client(ClientError::Reauth(_)))
            | Err(AgentError::Client(ClientError::InvalidSignature)) => {
                let sess = self.authenticate(Some(generation))?;
                self.private_with(&sess, load, dictkey, timeout)
            }
            other => other,
        }
    }

    fn private_with(
        &self,
        sess: &Session,
        load: Map,
        dictkey: &str,
        timeout: Duration,
    ) -> Result<Value, AgentError> {
        let nonce = client::new_nonce();
        let env = client::package_load(
            load,
            &self.opts.id,
            &nonce,
            &self.tok,
            &sess.session,
            self.opts.algos,
        );
        let reply = self.send_tries(&env, timeout, 1)?;
        // A session-level failure comes back as an encrypted or plain
        // string; a private answer is a clear map.
        if let Value::Bytes(_) = reply {
            let v = client::decode_reply(&reply, &sess.session, &nonce)?;
            return Err(AgentError::Client(ClientError::Reauth(format!(
                "unexpected answer {}",
                v.type_name()
            ))));
        }
        Ok(client::decode_dictentry(
            &reply,
            dictkey,
            &self.keys,
            &sess.master,
            &nonce,
            self.opts.algos,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptance_wait_grows_to_max() {
        let s = Duration::from_secs;
        assert_eq!(next_wait(s(10), s(10), s(0)), s(10));
        assert_eq!(next_wait(s(10), s(10), s(25)), s(20));
        assert_eq!(next_wait(s(20), s(10), s(25)), s(25));
        assert_eq!(next_wait(s(25), s(10), s(25)), s(25));
    }
}
