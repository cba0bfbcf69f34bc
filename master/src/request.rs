//! The request server on `interface:ret_port` (Salt's ReqServer, MWorker
//! and ReqServerChannel.handle_message): a ROUTER for the minions, an inproc
//! DEALER, and `worker_threads` REP workers that decode, authenticate,
//! dispatch and encrypt.
//!
//! Each request is `payload::loads`-ed with limits into `{enc, load,
//! version}`. `clear` loads only reach `_auth` and the ClearFuncs
//! `publish`/`wheel`/`runner` commands, which run ONLY when the load's
//! `key` is the master's root key (`cachedir/.root_key`), as Salt checks
//! it (CVE-2020-11651 class); anything else is refused before any work.
//! `aes` loads are decrypted with the minion's session key (version 3) or
//! the master AES key (older), and must carry a `tok` that verifies with
//! the minion's accepted key, else they are refused and no handler runs.
//! Replies are encrypted as the client expects: `_pillar` with
//! `_encrypt_private` (signed by the master, encrypted to the minion),
//! the rest with the session crypticle and the request nonce.
//! Malformed frames, truncated msgpack and oversized messages only ever
//! cost the sender its reply (libzmq drops oversized frames itself).

use crate::config::{opt_int, opt_str};
use crate::daemon::Master;
use crate::keys::valid_id;
use brine_core::value::{Map, Value};
use brine_core::wire::crypticle::Crypticle;
use brine_core::wire::keys::PublicKey;
use brine_core::wire::payload;
use brine_core::wire::server::{self, decode_request, value_bytes};
use brine_core::wire::sockets::{self, SocketOpts};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

fn k(s: &str) -> Value {
    Value::Str(s.to_string())
}

fn get<'a>(m: &'a Map, key: &str) -> Option<&'a Value> {
    m.get(&k(key))
}

/// Why the request server could not start.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("request server socket: {0}")]
    Zmq(#[from] zmq::Error),
    #[error("cannot bind the request server to {endpoint}: {source}")]
    Bind {
        endpoint: String,
        source: zmq::Error,
    },
    #[error("cannot start a request server thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Salt's MINION_EVENT_BLACKLIST: tags a minion may not fire.
const MINION_EVENT_BLACKLIST: &[&str] = &[
    "salt/job/*/publish",
    "salt/job/*/new",
    "salt/job/*/return",
    "salt/key",
    "salt/cloud/*",
    "salt/run/*",
    "salt/cluster/*",
    "salt/wheel/*/new",
    "salt/wheel/*/return",
];

/// `valid_minion_tag`.
pub fn valid_minion_tag(tag: &str) -> bool {
    !MINION_EVENT_BLACKLIST
        .iter()
        .any(|b| brine_core::config::fnmatch(tag, b))
}

/// How to encrypt a handler's answer (Salt's `req_opts["fun"]`).
enum ReplyMode {
    Send,
    SendPrivate { key: &'static str, tgt: String },
}

/// What a refused clear command answers (Salt's AuthenticationError).
fn auth_error() -> Value {
    Value::Map(Map::from_iter([(
        k("error"),
        Value::Map(Map::from_iter([
            (k("name"), k("AuthenticationError")),
            (k("message"), k("Authentication error occurred.")),
        ])),
    )]))
}

/// Handle one request frame and return the reply value (to be
/// `payload::dumps`-ed onto the socket). Never panics on input.
pub fn handle_request(master: &Master, frame: &[u8]) -> Value {
    let req = match decode_request(frame) {
        Ok(r) => r,
        Err(server::RequestError::Payload(e)) => {
            tracing::warn!("bad load received on socket: {}", e);
            return Value::Map(Map::from_iter([(k("msg"), k("bad load"))]));
        }
        Err(e) => {
            tracing::warn!("{}", e);
            return k("bad load");
        }
    };
    match req.enc.as_str() {
        "clear" => {
            let Value::Map(load) = &req.load else {
                return k("payload and load must be a dict");
            };
            if let Some(id) = get(load, "id") {
                match id {
                    Value::Str(s) if s.contains('\0') => {
                        return k("bad load: id contains a null byte")
                    }
                    Value::Str(_) => {}
                    _ => return k("bad load: id is not a string"),
                }
            }
            let cmd = get(load, "cmd").and_then(Value::as_str).unwrap_or("");
            if cmd == "_auth" {
                return master.auth.handle_auth(load, req.version);
            }
            handle_clear(master, cmd, load)
        }
        _ => handle_aes(master, &req),
    }
}

/// ClearFuncs: only with the master's root key.
fn handle_clear(master: &Master, cmd: &str, load: &Map) -> Value {
    match cmd {
        "publish" | "wheel" | "runner" | "mk_token" | "get_token" => {}
        // ping echoes the load back, as Salt does.
        "ping" => return Value::Map(load.clone()),
        _ => return Value::map(),
    }
    let key_ok = get(load, "key")
        .and_then(Value::as_str)
        .is_some_and(|key| master.check_root_key(key));
    if !key_ok {
        tracing::warn!("Authentication failure of type \"user\" occurred.");
        return auth_error();
    }
    match cmd {
        "publish" => {
            let v = Value::Map(load.clone());
            let req = match crate::local::PublishRequest::from_value(&v) {
                Ok(mut r) => {
                    if let Some(Value::Map(kw)) = get(load, "kwargs") {
                        r.kwarg = kw.clone();
                    }
                    r
                }
                Err(e) => {
                    return Value::Map(Map::from_iter([
                        (k("enc"), k("clear")),
                        (k("load"), Value::Map(Map::from_iter([(k("error"), k(&e))]))),
                    ]))
                }
            };
            let load = match master.publish(&req) {
                Ok(r) if r.jid.is_empty() => Map::from_iter([
                    (k("jid"), Value::Null),
                    (k("minions"), Value::List(vec![])),
                    (
                        k("error"),
                        k(&format!(
                            "Master could not resolve minions for target {}",
                            brine_core::output::pyrepr::str_of(&req.tgt)
                        )),
                    ),
                ]),
                Ok(r) => Map::from_iter([
                    (k("jid"), k(&r.jid)),
                    (
                        k("minions"),
                        Value::List(r.minions.iter().map(|m| k(m)).collect()),
                    ),
                    (k("missing"), Value::List(vec![])),
                ]),
                Err(e) => Map::from_iter([(k("error"), k(&e))]),
            };
            Value::Map(Map::from_iter([
                (k("enc"), k("clear")),
                (k("load"), Value::Map(load)),
            ]))
        }
        other => Value::Map(Map::from_iter([(
            k("error"),
            Value::Map(Map::from_iter([
                (k("name"), k("SaltInvocationError")),
                (
                    k("message"),
                    k(&format!(
                        "{other} is not available over the request port on brine-master"
                    )),
                ),
            ])),
        )])),
    }
}

fn handle_aes(master: &Master, req: &server::Request) -> Value {
    let Some(cipher) = value_bytes(&req.load) else {
        return k("bad load");
    };
    // Decrypt: the session key of an accepted minion (v3), else the AES key.
    let (crypticle, id_outer): (Crypticle, Option<String>) = if req.version > 2 {
        let Some(id) = req.id.as_deref().filter(|i| valid_id(i)) else {
            tracing::error!("Bad load from minion: Encountered invalid id");
            return k("bad load");
        };
        if master
            .auth
            .keys()
            .pem_in(crate::keys::KeyState::Accepted, id)
            .is_none()
        {
            tracing::warn!("Request from {} which has no accepted key", id);
            return k("bad load");
        }
        let Some(sk) = master.auth.session_key(id) else {
            return k("bad load");
        };
        match Crypticle::new(&sk, 192) {
            Ok(c) => (c, Some(id.to_string())),
            Err(_) => return k("bad load"),
        }
    } else {
        (master.auth.crypticle(), None)
    };
    let load = match crypticle.loads(&cipher, None) {
        Ok(Value::Map(m)) => m,
        Ok(_) => return k("payload and load must be a dict"),
        Err(e) => {
            tracing::debug!("Minion failed to auth to master: {}", e);
            return k("bad load");
        }
    };
    let mut load = load;
    let nonce = if req.version > 1 {
        load.shift_remove(&k("nonce"))
            .and_then(|n| n.as_str().map(str::to_string))
    } else {
        None
    };
    let id = match get(&load, "id") {
        Some(Value::Str(s)) if !s.contains('\0') && valid_id(s) => s.clone(),
        _ => return k("bad load"),
    };
    if req.version > 2 {
        let ttl = opt_int(&master.opts, "request_server_ttl", 0);
        if ttl > 0 {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i128)
                .unwrap_or(0);
            let ts = match get(&load, "ts") {
                Some(Value::Int(i)) => *i,
                Some(Value::Float(f)) => *f as i128,
                _ => 0,
            };
            if now - ts > ttl as i128 {
                tracing::warn!("Received request from {} with expired ttl", id);
                return k("bad load");
            }
        }
        if id_outer.as_deref() != Some(id.as_str()) {
            tracing::warn!(
                "Request id mismatch. Found '{}' but expected '{:?}'",
                id,
                id_outer
            );
            return k("bad load");
        }
    }
    // The token is required from every client (Salt requires it from v3).
    let tok = load.shift_remove(&k("tok")).and_then(|t| value_bytes(&t));
    match tok {
        Some(t) if master.auth.verify_token(&id, &t) => {}
        _ => return k("bad load"),
    }
    let cmd = get(&load, "cmd")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let (ret, mode) = dispatch_aes(master, &cmd, &mut load, &id);
    match mode {
        ReplyMode::Send => {
            let c = if req.version > 2 {
                crypticle
            } else {
                master.auth.crypticle()
            };
            Value::Bytes(c.dumps(&ret, nonce.as_deref()))
        }
        ReplyMode::SendPrivate { key, tgt } => {
            let pem = master
                .auth
                .keys()
                .pem_in(crate::keys::KeyState::Accepted, &tgt);
            let Some(Ok(pub_)) = pem.map(|p| PublicKey::from_pem(&p)) else {
                return Value::Map(Map::from_iter([(k("error"), k("AES key not found"))]));
            };
            match server::encrypt_private(
                &ret,
                key,
                &pub_,
                master.auth.master_key(),
                nonce.as_deref(),
                req.version > 1,
                req.enc_algo,
                req.sig_algo,
            ) {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!("Cannot encrypt the reply for {}: {}", tgt, e);
                    Value::Map(Map::from_iter([(k("error"), k("bad load"))]))
                }
            }
        }
    }
}

/// AESFuncs: dispatch a decrypted, authenticated load by `cmd`.
fn dispatch_aes(master: &Master, cmd: &str, load: &mut Map, id: &str) -> (Value, ReplyMode) {
    if cmd.starts_with("__") {
        return (Value::map(), ReplyMode::Send);
    }
    let from = |r: Option<Result<Value, String>>, what: &str| -> Option<Value> {
        match r? {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::error!("Error in function {}: {}", what, e);
                Some(k(""))
            }
        }
    };
    let ret = match cmd {
        "_return" => {
            master.store_return(load);
            Value::Null
        }
        "_syndic_return" => {
            tracing::warn!(
                "Received a syndic return from {}; brine-master has no syndic support",
                id
            );
            Value::Bool(false)
        }
        "_minion_event" => {
            master.minion_event(load);
            Value::Null
        }
        "_pillar" => {
            let ret = match crate::pillar::handle_pillar(&master.opts, load) {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!("Error in function _pillar: {}", e);
                    Value::Bool(false)
                }
            };
            let old_proto = get(load, "ver").and_then(Value::as_str) != Some("2")
                && opt_int(&master.opts, "pillar_version", 2) == 1;
            if old_proto {
                return (ret, ReplyMode::Send);
            }
            return (
                ret,
                ReplyMode::SendPrivate {
                    key: "pillar",
                    tgt: id.to_string(),
                },
            );
        }
        "_master_opts" => crate::pillar::master_opts_reply(&master.opts, load),
        "_ext_nodes" | "_master_tops" => crate::pillar::ext_nodes_reply(&master.opts, load),
        "_mine" | "_mine_get" | "_mine_delete" | "_mine_flush" => {
            let targets = |tgt: &Value, tgt_type: &str| {
                crate::publish::check_minions_greedy(
                    &master.opts,
                    master.auth.keys(),
                    tgt,
                    tgt_type,
                    false,
                )
            };
            from(master.mine.handle(cmd, load, &targets), cmd).unwrap_or(Value::Bool(false))
        }
        "pub_ret" | "_pub_ret" => {
            // Only the minion that published a job may read it; brine-master
            // has no minion-side publishing (peer), so there is none.
            Value::map()
        }
        "minion_pub" | "minion_publish" | "minion_runner" => {
            tracing::warn!(
                "{} from {} refused: peer publishing is not configured",
                cmd,
                id
            );
            Value::map()
        }
        "_file_recv" => Value::Bool(false),
        "revoke_auth" => {
            if crate::config::opt_bool(&master.opts, "allow_minion_key_revoke", true) {
                let _ = master
                    .auth
                    .keys()
                    .delete_in(id, &[crate::keys::KeyState::Accepted]);
                master.auth.drop_session(id);
                master.auth.rotate();
                master.bus.fire(
                    "salt/key",
                    Value::Map(Map::from_iter([
                        (k("result"), Value::Bool(true)),
                        (k("act"), k("delete")),
                        (k("id"), k(id)),
                    ])),
                );
                Value::Bool(true)
            } else {
                tracing::warn!(
                    "Minion {} requested key revoke, but allow_minion_key_revoke is set to False",
                    id
                );
                Value::Map(load.clone())
            }
        }
        "verify_minion" => Value::Bool(true),
        _ => match from(master.fileserver.handle(cmd, load), cmd) {
            Some(v) => v,
            None => {
                tracing::error!(
                    "Received function {} which is unavailable on the master, returning False",
                    cmd
                );
                Value::Bool(false)
            }
        },
    };
    (ret, ReplyMode::Send)
}

static SERVER_SEQ: AtomicUsize = AtomicUsize::new(0);

/// Requests handled by every worker of this process (for the idle check).
static HANDLED: AtomicUsize = AtomicUsize::new(0);

/// How many requests the workers have handled so far.
pub fn requests_handled() -> usize {
    HANDLED.load(Ordering::Relaxed)
}

/// The running request server.
pub struct RequestServer {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl RequestServer {
    /// Bind `tcp://interface:ret_port` and start the queue device and the
    /// `worker_threads` workers.
    pub fn start(ctx: &zmq::Context, master: Arc<Master>) -> Result<RequestServer, RequestError> {
        let so = SocketOpts::from_opts(&master.opts);
        let clients = sockets::socket(ctx, zmq::ROUTER, &so)?;
        let iface = opt_str(&master.opts, "interface").unwrap_or("0.0.0.0");
        let port = opt_int(&master.opts, "ret_port", 4506).clamp(0, 65535) as u16;
        let endpoint = sockets::tcp_endpoint(iface, port);
        clients
            .bind(&endpoint)
            .map_err(|source| RequestError::Bind {
                endpoint: endpoint.clone(),
                source,
            })?;
        tracing::info!("ReqServer clients {}", endpoint);
        let inproc = format!(
            "inproc://brine-workers-{}",
            SERVER_SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let workers = ctx.socket(zmq::DEALER)?;
        workers.set_linger(0)?;
        workers.bind(&inproc)?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let n = opt_int(&master.opts, "worker_threads", 5).clamp(1, 256);
        for i in 0..n {
            let rep = ctx.socket(zmq::REP)?;
            rep.set_linger(0)?;
            rep.set_rcvtimeo(200)?;
            rep.connect(&inproc)?;
            let m = master.clone();
            let st = stop.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("MWorker-{i}"))
                    .spawn(move || worker_loop(rep, m, st))?,
            );
        }
        let st = stop.clone();
        threads.push(
            std::thread::Builder::new()
                .name("ReqServer".into())
                .spawn(move || queue_loop(clients, workers, st))?,
        );
        Ok(RequestServer { stop, threads })
    }

    /// Stop the device and the workers and wait for them.
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for RequestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A sign-in that waited this long in the queue is answered "full" (retry
/// later) instead of being worked on: its minion's REQ has timed out (Salt's
/// `auth_timeout` is 5 s) and a reply would go nowhere. Under a sign-in storm
/// this keeps the workers on requests someone still waits for, instead of
/// the RSA work of requests already retried.
pub const STALE_SIGN_IN_MS: u64 = 5000;

/// Milliseconds on a monotonic clock private to this process.
fn queue_clock_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

/// Whether `frame` is a clear `_auth` that, at `now`, has waited since `ts`
/// for more than [`STALE_SIGN_IN_MS`].
fn stale_sign_in(frame: &[u8], ts: &[u8], now: u64) -> bool {
    let Ok(ts) = <[u8; 8]>::try_from(ts) else {
        return false;
    };
    let waited = now.saturating_sub(u64::from_be_bytes(ts));
    if waited <= STALE_SIGN_IN_MS {
        return false;
    }
    match server::decode_request(frame) {
        Ok(req) => {
            req.enc == "clear"
                && req
                    .load
                    .as_map()
                    .and_then(|l| l.get(&k("cmd")))
                    .and_then(Value::as_str)
                    == Some("_auth")
        }
        Err(_) => false,
    }
}

/// Salt's unsigned "master full" answer, which makes a minion wait its
/// `acceptance_wait_time` and sign in again.
fn master_full() -> Value {
    Value::Map(Map::from_iter([
        (k("enc"), k("clear")),
        (
            k("load"),
            Value::Map(Map::from_iter([(k("ret"), k("full"))])),
        ),
    ]))
}

/// The queue device (zmq.device(QUEUE)) with a stop flag.
fn queue_loop(clients: zmq::Socket, workers: zmq::Socket, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let mut items = [
            clients.as_poll_item(zmq::POLLIN),
            workers.as_poll_item(zmq::POLLIN),
        ];
        match zmq::poll(&mut items, 200) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(zmq::Error::EINTR) => continue,
            Err(e) => {
                tracing::error!("request queue poll: {}", e);
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        }
        let (c_in, w_in) = (items[0].is_readable(), items[1].is_readable());
        for _ in 0..100 {
            if !c_in {
                break;
            }
            match clients.recv_multipart(zmq::DONTWAIT) {
                Ok(mut m) => {
                    // When the request arrived: a worker skips sign-ins that
                    // waited so long their minion has given up.
                    m.push(queue_clock_ms().to_be_bytes().to_vec());
                    if let Err(e) = workers.send_multipart(m, zmq::DONTWAIT) {
                        tracing::warn!("dropping a request, workers busy: {}", e);
                    }
                }
                Err(_) => break,
            }
        }
        for _ in 0..100 {
            if !w_in {
                break;
            }
            match workers.recv_multipart(zmq::DONTWAIT) {
                Ok(m) => {
                    let _ = clients.send_multipart(m, zmq::DONTWAIT);
                }
                Err(_) => break,
            }
        }
    }
}

fn worker_loop(rep: zmq::Socket, master: Arc<Master>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        let frames = match rep.recv_multipart(0) {
            Ok(f) => f,
            Err(zmq::Error::EAGAIN) | Err(zmq::Error::EINTR) => continue,
            Err(e) => {
                tracing::error!("worker recv: {}", e);
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        };
        HANDLED.fetch_add(1, Ordering::Relaxed);
        // A bug in a handler must not cost the master a worker.
        let reply =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match frames.as_slice() {
                [one] => handle_request(&master, one),
                [one, ts] if stale_sign_in(one, ts, queue_clock_ms()) => {
                    tracing::debug!("skipping a sign-in that waited over {STALE_SIGN_IN_MS} ms");
                    master_full()
                }
                [one, _] => handle_request(&master, one),
                _ => k("bad load"),
            }))
            .unwrap_or_else(|_| {
                tracing::error!("Some exception handling a payload from minion");
                k("Some exception handling minion payload")
            });
        if let Err(e) = rep.send(payload::dumps(&reply), 0) {
            tracing::warn!("worker send: {}", e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_frame(cmd: &str) -> Vec<u8> {
        payload::dumps(&Value::Map(Map::from_iter([
            (k("enc"), k("clear")),
            (
                k("load"),
                Value::Map(Map::from_iter([(k("cmd"), k(cmd)), (k("id"), k("m1"))])),
            ),
            (k("version"), Value::Int(3)),
        ])))
    }

    #[test]
    fn only_old_sign_ins_are_skipped() {
        let auth = auth_frame("_auth");
        let at = 1_000u64.to_be_bytes();
        let late = 1_000 + STALE_SIGN_IN_MS + 1;
        assert!(!stale_sign_in(&auth, &at, 1_000 + STALE_SIGN_IN_MS));
        assert!(stale_sign_in(&auth, &at, late));
        // Other commands, garbage and bad timestamps are always handled.
        assert!(!stale_sign_in(&auth_frame("_return"), &at, late));
        assert!(!stale_sign_in(b"\xc1junk", &at, late));
        assert!(!stale_sign_in(&auth, b"short", late));
        let full = master_full();
        let load = full.as_map().unwrap().get(&k("load")).unwrap();
        assert_eq!(load.as_map().unwrap().get(&k("ret")), Some(&k("full")));
    }
}
