//! Starts and wires the master: config -> key store and master key ->
//! event bus -> job cache -> AES session ([`Auth`]) -> publisher -> request
//! server -> local socket -> reactor thread; then the maintenance loop
//! (the `.dfn` rotate marker every second, `publish_session` rotation,
//! `keep_jobs` expiry every minute) until SIGTERM or SIGINT.
//!
//! [`Master`] is the shared state every thread holds: it publishes jobs
//! (jid, job cache, `salt/job/JID/new`, the PUB socket), stores returns
//! (`salt/job/JID/ret/ID`) and forwards minion events.

use crate::auth::{Auth, AuthError};
use crate::config::{opt_int, opt_str};
use crate::events::{Event, EventBus};
use crate::jobs::JobCache;
use crate::keys::{KeyState, KeyStore};
use crate::local::{LocalHandler, LocalServer, PublishReply, PublishRequest};
use crate::publish::{check_minions, Publisher};
use crate::request::RequestServer;
use brine_core::value::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn k(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// Why the master could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("key store: {0}")]
    Keys(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Publish(#[from] crate::publish::PublishError),
    #[error(transparent)]
    Request(#[from] crate::request::RequestError),
    #[error(transparent)]
    Local(#[from] crate::local::LocalError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The shared state of a running master.
pub struct Master {
    pub opts: Map,
    pub bus: Arc<EventBus>,
    pub auth: Arc<Auth>,
    pub jobs: JobCache,
    pub publisher: Publisher,
    pub fileserver: crate::fileserver::FileServer,
    pub mine: crate::mine::Mine,
    root_key: String,
}

/// `salt.utils.args.condition_input(arg, kwarg)`: kwargs travel as a
/// trailing `{__kwarg__: True, ...}` argument.
pub fn condition_input(arg: &[Value], kwarg: &Map) -> Vec<Value> {
    let mut out = arg.to_vec();
    if !kwarg.is_empty() {
        let mut m = kwarg.clone();
        m.insert(k("__kwarg__"), Value::Bool(true));
        out.push(Value::Map(m));
    }
    out
}

/// Constant-time string comparison.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Master {
    /// Whether `key` is this master's root key (`cachedir/.root_key`).
    pub fn check_root_key(&self, key: &str) -> bool {
        !self.root_key.is_empty() && ct_eq(key.as_bytes(), self.root_key.as_bytes())
    }

    /// The accepted minions `tgt` matches (Salt's CkMinions).
    pub fn check_minions(&self, tgt: &Value, tgt_type: &str) -> Vec<String> {
        check_minions(&self.opts, self.auth.keys(), tgt, tgt_type)
    }

    /// Publish a job: expected minions, jid, job cache, `JID` and
    /// `salt/job/JID/new` events, the PUB socket. No minion matched: an
    /// empty reply and nothing is sent (Salt's "could not resolve minions").
    pub fn publish(&self, req: &PublishRequest) -> Result<PublishReply, String> {
        let minions = self.check_minions(&req.tgt, &req.tgt_type);
        if minions.is_empty() {
            return Ok(PublishReply {
                jid: String::new(),
                minions,
            });
        }
        let jid = self
            .jobs
            .prep_jid(req.jid.as_deref())
            .map_err(|e| format!("Master failed to assign jid: {e}"))?;
        let arg = Value::List(condition_input(&req.arg, &req.kwarg));
        let user = if req.user.is_empty() {
            "root"
        } else {
            &req.user
        };
        let mut clear_load = Map::default();
        clear_load.insert(k("fun"), k(&req.fun));
        clear_load.insert(k("arg"), arg.clone());
        clear_load.insert(k("tgt"), req.tgt.clone());
        clear_load.insert(k("tgt_type"), k(&req.tgt_type));
        clear_load.insert(k("ret"), k(&req.ret));
        clear_load.insert(k("jid"), k(&jid));
        clear_load.insert(k("user"), k(user));
        clear_load.insert(k("kwargs"), Value::Map(req.kwarg.clone()));
        let mins = Value::List(minions.iter().map(|m| k(m)).collect());
        // Salt's `missing`: list targets that are not accepted minions.
        let missing: Vec<Value> = match (&req.tgt, req.tgt_type.as_str()) {
            (Value::List(l), "list") => l
                .iter()
                .filter(|t| t.as_str().is_some_and(|t| !minions.iter().any(|m| m == t)))
                .cloned()
                .collect(),
            (Value::Str(s), "list") => s
                .split(',')
                .filter(|t| !t.is_empty() && !minions.iter().any(|m| m == t))
                .map(k)
                .collect(),
            _ => Vec::new(),
        };
        self.bus.fire(
            &jid,
            Value::Map(Map::from_iter([(k("minions"), mins.clone())])),
        );
        let new_job = Map::from_iter([
            (k("jid"), k(&jid)),
            (k("tgt_type"), k(&req.tgt_type)),
            (k("tgt"), req.tgt.clone()),
            (k("user"), k(user)),
            (k("fun"), k(&req.fun)),
            (k("arg"), arg.clone()),
            (k("minions"), mins),
            (k("missing"), Value::List(missing)),
        ]);
        self.bus
            .fire(&format!("salt/job/{jid}/new"), Value::Map(new_job));
        if let Err(e) = self.jobs.save_load(&jid, &Value::Map(clear_load)) {
            tracing::error!("The job cache could not save the load of {}: {}", jid, e);
        }
        if let Err(e) = self.jobs.save_minions(&jid, &minions) {
            tracing::error!("The job cache could not save the minions of {}: {}", jid, e);
        }
        let mut load = Map::default();
        load.insert(k("fun"), k(&req.fun));
        load.insert(k("arg"), arg);
        load.insert(k("tgt"), req.tgt.clone());
        load.insert(k("jid"), k(&jid));
        load.insert(k("ret"), k(&req.ret));
        load.insert(k("tgt_type"), k(&req.tgt_type));
        load.insert(k("user"), k(user));
        tracing::info!(
            "User {} Published command {} with jid {}",
            user,
            req.fun,
            jid
        );
        self.publisher
            .publish(&load)
            .map_err(|e| format!("publish failed: {e}"))?;
        Ok(PublishReply { jid, minions })
    }

    /// `AESFuncs._return` / `salt.utils.job.store_job`: fire
    /// `salt/job/JID/ret/ID` and save the return in the job cache.
    pub fn store_return(&self, load: &mut Map) {
        let (Some(_), Some(jid), Some(id)) = (
            load.get(&k("return")),
            load.get(&k("jid"))
                .and_then(Value::as_str)
                .map(str::to_string),
            load.get(&k("id"))
                .and_then(Value::as_str)
                .map(str::to_string),
        ) else {
            return;
        };
        if !crate::keys::valid_id(&id) {
            return;
        }
        let jid = if jid == "req" {
            let Ok(new) = self.jobs.prep_jid(None) else {
                return;
            };
            let arg = load
                .get(&k("arg"))
                .or_else(|| load.get(&k("fun_args")))
                .cloned()
                .unwrap_or(Value::List(vec![]));
            load.insert(k("arg"), arg);
            load.insert(k("tgt_type"), k("glob"));
            load.insert(k("tgt"), k(&id));
            load.insert(k("jid"), k(&new));
            if let Err(e) = self.jobs.save_load(&new, &Value::Map(load.clone())) {
                tracing::error!("{}", e);
            }
            new
        } else if crate::jobs::is_jid(&jid) {
            if let Err(e) = self.jobs.prep_jid(Some(&jid)) {
                tracing::error!("{}", e);
            }
            jid
        } else {
            jid
        };
        tracing::info!("Got return from {} for job {}", id, jid);
        self.bus.fire(
            &format!("salt/job/{jid}/ret/{id}"),
            Value::Map(load.clone()),
        );
        if jid == "nocache" || !crate::config::opt_bool(&self.opts, "job_cache", true) {
            return;
        }
        if let Err(e) = self.jobs.save_return(&jid, &id, &Value::Map(load.clone())) {
            tracing::error!("Could not store job information for {} {}: {}", jid, id, e);
        }
    }

    /// `RemoteFuncs._minion_event`: fire the minion's event(s) on the bus
    /// (blacklisted tags dropped).
    pub fn minion_event(&self, load: &Map) {
        if let Some(Value::List(events)) = load.get(&k("events")) {
            let pretag = load.get(&k("pretag")).and_then(Value::as_str);
            for ev in events.iter().take(10_000) {
                let Some(tag) = ev.get("tag").and_then(Value::as_str) else {
                    continue;
                };
                if !crate::request::valid_minion_tag(tag) {
                    tracing::warn!("Filtering blacklisted event tag {}", tag);
                    continue;
                }
                let data = ev.get("data").cloned().unwrap_or_else(|| ev.clone());
                self.bus.fire(tag, data.clone());
                if let Some(p) = pretag {
                    self.bus.fire(&format!("{p}/{tag}"), data);
                }
            }
        } else if let (Some(tag), Some(_)) = (
            load.get(&k("tag")).and_then(Value::as_str),
            load.get(&k("data")),
        ) {
            self.bus.fire(tag, Value::Map(load.clone()));
        }
    }
}

impl LocalHandler for Master {
    fn publish(&self, req: &PublishRequest) -> Result<PublishReply, String> {
        Master::publish(self, req)
    }
    fn subscribe(&self, prefix: &str) -> std::sync::mpsc::Receiver<Event> {
        self.bus.subscribe(prefix)
    }
}

/// A local handler that forwards to the master (the server keeps an Arc).
struct Handler(Arc<Master>);

impl LocalHandler for Handler {
    fn publish(&self, req: &PublishRequest) -> Result<PublishReply, String> {
        self.0.publish(req)
    }
    fn subscribe(&self, prefix: &str) -> std::sync::mpsc::Receiver<Event> {
        self.0.bus.subscribe(prefix)
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Install SIGTERM/SIGINT handlers that ask [`run`] to stop.
pub fn install_signal_handlers() {
    // SAFETY: the handler only stores into an atomic (async-signal-safe).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

/// Ask a running [`run`] to stop (as SIGTERM does).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DaemonError + '_ {
    move |source| DaemonError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `cachedir/.root_key` (0400): kept when present, else a new random key,
/// as Salt's `access_keys` does for the master's user.
fn write_root_key(cachedir: &Path) -> Result<String, DaemonError> {
    let path = cachedir.join(".root_key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 16 {
            return Ok(existing.trim().to_string());
        }
    }
    let key = brine_core::wire::crypticle::Crypticle::generate_key_string(192)
        .replace(['+', '/', '='], "");
    if path.exists() {
        let _ = std::fs::remove_file(&path);
    }
    brine_core::fsutil::write_atomic(&path, key.as_bytes(), Some(0o400)).map_err(io(&path))?;
    Ok(key)
}

/// Everything a started master owns; dropping it stops the threads.
pub struct Running {
    pub master: Arc<Master>,
    request: RequestServer,
    local: LocalServer,
    reactor: Option<std::thread::JoinHandle<()>>,
    reactor_stop: Arc<AtomicBool>,
    _ctx: zmq::Context,
}

impl Running {
    /// Stop every thread.
    pub fn shutdown(mut self) {
        self.reactor_stop.store(true, Ordering::SeqCst);
        self.local.shutdown();
        self.request.shutdown();
        self.master.publisher.shutdown();
        if let Some(t) = self.reactor.take() {
            let _ = t.join();
        }
    }
}

/// Start the master with `opts` (from [`crate::config::load_master_config`]).
pub fn start(opts: Map) -> Result<Running, DaemonError> {
    let cachedir = PathBuf::from(opt_str(&opts, "cachedir").unwrap_or("/var/cache/salt/master"));
    let sock_dir = PathBuf::from(opt_str(&opts, "sock_dir").unwrap_or("/var/run/salt/master"));
    let pki_dir = PathBuf::from(opt_str(&opts, "pki_dir").unwrap_or("/etc/salt/pki/master"));
    for d in [&cachedir, &sock_dir] {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    for sub in ["jobs", "minions", "sessions", "proc"] {
        let d = cachedir.join(sub);
        std::fs::create_dir_all(&d).map_err(io(&d))?;
    }
    let keys = KeyStore::new(&pki_dir)?;
    let bits = opt_int(&opts, "keysize", 2048).clamp(1024, 16384) as usize;
    let master_key = keys.master_key(bits)?;
    let bus = Arc::new(EventBus::new());
    let keep_secs = crate::config::keep_jobs_seconds(&opts).max(0) as u64;
    let jobs = JobCache::new(&cachedir, keep_secs.div_ceil(3600));
    let auth = Arc::new(Auth::new(&opts, keys.clone(), master_key, bus.clone())?);
    let root_key = write_root_key(&cachedir)?;
    let ctx = zmq::Context::new();
    let publisher = Publisher::start(&ctx, &opts, auth.clone(), keys.clone())?;
    let master = Arc::new(Master {
        fileserver: crate::fileserver::FileServer::from_opts(&opts),
        mine: crate::mine::Mine::new(&cachedir).with_acl(opts.get(&k("mine_get")).cloned()),
        opts: opts.clone(),
        bus: bus.clone(),
        auth,
        jobs,
        publisher,
        root_key,
    });
    let request = RequestServer::start(&ctx, master.clone())?;
    let local = LocalServer::start(&sock_dir, Arc::new(Handler(master.clone())))?;
    let reactor_stop = Arc::new(AtomicBool::new(false));
    let reactor = start_reactor(master.clone(), reactor_stop.clone());
    Ok(Running {
        master,
        request,
        local,
        reactor,
        reactor_stop,
        _ctx: ctx,
    })
}

fn start_reactor(
    master: Arc<Master>,
    stop: Arc<AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    let configured =
        matches!(master.opts.get(&k("reactor")), Some(Value::List(l)) if !l.is_empty());
    if !configured {
        return None;
    }
    let rx = master.bus.subscribe("");
    std::thread::Builder::new()
        .name("Reactor".into())
        .spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let ev = match rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(ev) => ev,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(_) => break,
                };
                for call in crate::reactor::react(&master.opts, &ev.tag, &ev.data) {
                    match call {
                        Ok(c) => {
                            if let Err(e) = master.publish(&c.into()) {
                                tracing::error!("Reactor publish failed: {}", e);
                            }
                        }
                        Err(e) => tracing::error!("Reactor: {}", e),
                    }
                }
            }
        })
        .ok()
}

/// Run the master until SIGTERM/SIGINT (or [`request_stop`]).
pub fn run(opts: Map) -> Result<(), DaemonError> {
    install_signal_handlers();
    let cachedir = PathBuf::from(opt_str(&opts, "cachedir").unwrap_or("/var/cache/salt/master"));
    let pidfile = opt_str(&opts, "pidfile").map(PathBuf::from);
    let running = start(opts)?;
    if let Some(p) = &pidfile {
        if let Some(d) = p.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let _ = std::fs::write(p, format!("{}\n", std::process::id()));
    }
    tracing::info!("The Salt Master has started");
    let master = running.master.clone();
    let mut last_clean = Instant::now();
    master.jobs.clean_old();
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(250));
        maintenance_tick(&master, &cachedir, &mut last_clean);
    }
    tracing::info!("Shutting down the Salt Master");
    running.shutdown();
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

/// One maintenance step: the rotate marker (Salt's `.dfn`), session
/// expiry, the job cache every minute.
pub fn maintenance_tick(master: &Master, cachedir: &Path, last_clean: &mut Instant) {
    if crate::keys::take_rotate_marker(cachedir) {
        master.auth.rotate();
        // Sessions of minions no longer accepted are dropped too.
        let accepted = master
            .auth
            .keys()
            .list()
            .remove(&KeyState::Accepted)
            .unwrap_or_default();
        if let Ok(rd) = std::fs::read_dir(cachedir.join("sessions")) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !accepted.contains(&name) {
                    master.auth.drop_session(&name);
                }
            }
        }
        master.bus.fire(
            "key",
            Value::Map(Map::from_iter([(k("rotate_aes_key"), Value::Bool(true))])),
        );
    }
    master.auth.rotate_if_expired();
    // Every tenth tick with no request since the last one, give back what
    // the work left resident (freed heap of minions that went away, buffers
    // of finished jobs, code pages faulted in): see brine_core::memory.
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
    static TICKS: AtomicU64 = AtomicU64::new(0);
    static SEEN: AtomicUsize = AtomicUsize::new(usize::MAX);
    if TICKS.fetch_add(1, Relaxed) % 10 == 9 {
        let handled = crate::request::requests_handled();
        if SEEN.swap(handled, Relaxed) == handled {
            brine_core::memory::trim();
        }
    }
    if last_clean.elapsed() >= Duration::from_secs(60) {
        *last_clean = Instant::now();
        master.jobs.clean_old();
    }
}
