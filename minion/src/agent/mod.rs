//! brine-minion's agent: a minion connected to a Salt master over Salt's
//! ZeroMQ protocol, as `salt.minion.Minion` is.
//!
//! - [`channel`]: the request channel and `_auth` (backoff while pending,
//!   re-authentication after a master restart or an AES rotation).
//! - [`remote`]: salt:// files and the pillar from the master.
//! - [`jobs`]: running one published job and building its `_return`.
//!
//! [`Agent::run`] signs in, subscribes to the publisher, sends the start
//! events and mine data, then loops: decode each publish (signature, AES
//! key, re-authenticating when the key changed), match the target itself,
//! skip jids already seen, and run each job in its own small thread that
//! sends the return with retries. Plain threads and libzmq, no runtime.

pub mod channel;
pub mod jobs;
pub mod remote;

use crate::modules::{self, Context};
use brine_core::matcher::{self, MatchContext};
use brine_core::memory;
use brine_core::value::{Map, Value};
use brine_core::wire::client::{self, Algos, ClientError, MinionKeys, PublishError, SignInCheck};
use brine_core::wire::sockets::{self, SocketOpts};
use channel::{ChannelOpts, MasterChannel};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AgentError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("zeromq: {0}")]
    Zmq(#[from] zmq::Error),
    #[error("the request to the master timed out")]
    Timeout,
    #[error("the master rejected this minion's key")]
    Rejected,
    #[error("stopped")]
    Stopped,
    #[error("{1}")]
    Fatal(i32, String),
    #[error("config: {0}")]
    Config(String),
}

/// Stack size of a job thread: enough for the state compiler and Jinja;
/// only the pages a job touches become resident.
const JOB_STACK: usize = 8 << 20;
/// Most publish frames read at once (Salt sends one or two).
const MAX_FRAMES: usize = 4;
/// How long an unused request connection to the master stays open.
const REQ_IDLE: Duration = Duration::from_secs(5);

fn s(v: &str) -> Value {
    Value::from(v)
}

fn opt_f64(opts: &Value, k: &str, default: f64) -> f64 {
    match opts.get(k) {
        Some(Value::Int(i)) => *i as f64,
        Some(Value::Float(f)) => *f,
        Some(Value::Str(x)) => x.trim().parse().unwrap_or(default),
        _ => default,
    }
}

fn secs(opts: &Value, k: &str, default: f64) -> Duration {
    Duration::from_secs_f64(opt_f64(opts, k, default).clamp(0.0, 86400.0 * 365.0))
}

fn port(opts: &Value, k: &str, default: u16) -> Result<u16, AgentError> {
    match opts.get(k) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_int()
            .or_else(|| v.as_str().and_then(|x| x.trim().parse().ok()))
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| AgentError::Config(format!("{k}: not a port number: {v:?}"))),
    }
}

fn str_opt(opts: &Value, k: &str) -> Option<String> {
    match opts.get(k)? {
        Value::Str(x) if x.is_empty() => None,
        Value::Str(x) => Some(x.clone()),
        Value::Null | Value::Bool(false) => None,
        other => Some(brine_core::output::pyrepr::str_of(other)),
    }
}

/// The agent's settings, read from a minion config.
#[derive(Debug, Clone)]
pub struct AgentOpts {
    pub channel: ChannelOpts,
    pub publish_port: u16,
    pub cachedir: PathBuf,
    pub keysize: usize,
    pub zmq_filtering: bool,
    pub sign_pub_messages: bool,
    pub mine_interval: Duration,
    pub random_reauth_delay: Duration,
    pub return_retry_tries: u32,
    pub return_retry_timer: Duration,
    pub legacy_start_event: bool,
    pub jid_queue_hwm: usize,
}

impl AgentOpts {
    /// Salt's option names (`master`, `master_port`, `publish_port`,
    /// `acceptance_wait_time[_max]`, `master_finger`, `auth_timeout`, ...).
    pub fn from_opts(opts: &Value) -> Result<AgentOpts, AgentError> {
        let id = str_opt(opts, "id").ok_or_else(|| AgentError::Config("no minion id".into()))?;
        let master = match opts.get("master") {
            Some(Value::List(l)) => l.first().and_then(Value::as_str).map(String::from),
            _ => str_opt(opts, "master"),
        }
        .unwrap_or_else(|| "salt".into());
        let pki_dir = PathBuf::from(
            str_opt(opts, "pki_dir").unwrap_or_else(|| "/etc/salt/pki/minion".into()),
        );
        let cachedir = PathBuf::from(
            str_opt(opts, "cachedir").unwrap_or_else(|| "/var/cache/salt/minion".into()),
        );
        let algos = Algos::from_opts(opts)?;
        let truthy = |k: &str| opts.get(k).is_some_and(Value::truthy);
        let channel = ChannelOpts {
            id,
            master,
            master_port: port(opts, "master_port", 4506)?,
            auth_timeout: secs(opts, "auth_timeout", 5.0).max(Duration::from_millis(100)),
            auth_tries: opt_f64(opts, "auth_tries", 7.0).clamp(1.0, 1000.0) as u32,
            acceptance_wait_time: secs(opts, "acceptance_wait_time", 10.0)
                .max(Duration::from_millis(100)),
            acceptance_wait_time_max: secs(opts, "acceptance_wait_time_max", 0.0),
            rejected_retry: truthy("rejected_retry"),
            check: SignInCheck {
                pki_dir,
                master_finger: str_opt(opts, "master_finger"),
                open_mode: truthy("open_mode"),
            },
            algos,
        };
        Ok(AgentOpts {
            channel,
            publish_port: port(opts, "publish_port", 4505)?,
            cachedir,
            keysize: opt_f64(opts, "keysize", 2048.0).clamp(1024.0, 16384.0) as usize,
            zmq_filtering: truthy("zmq_filtering"),
            sign_pub_messages: truthy("sign_pub_messages"),
            mine_interval: secs(opts, "mine_interval", 60.0) * 60,
            random_reauth_delay: secs(opts, "random_reauth_delay", 10.0),
            return_retry_tries: opt_f64(opts, "return_retry_tries", 3.0).clamp(1.0, 100.0) as u32,
            return_retry_timer: secs(opts, "return_retry_timer", 5.0).max(Duration::from_secs(1)),
            legacy_start_event: truthy("enable_legacy_startup_events"),
            jid_queue_hwm: opt_f64(opts, "minion_jid_queue_hwm", 100.0).clamp(1.0, 100000.0)
                as usize,
        })
    }
}

/// `time.asctime()` in local time.
fn asctime() -> String {
    let t = unsafe { libc::time(std::ptr::null_mut()) };
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0u8; 64];
    // SAFETY: valid pointers to a local tm and buffer of the given size.
    let n = unsafe {
        libc::localtime_r(&t, &mut tm);
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%a %b %e %H:%M:%S %Y".as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The jids already received (`Minion.jid_queue`, bounded by
/// `minion_jid_queue_hwm`): a publish replayed with a known jid is ignored.
#[derive(Debug)]
pub struct JidQueue {
    jids: VecDeque<String>,
    hwm: usize,
}

impl JidQueue {
    pub fn new(hwm: usize) -> JidQueue {
        JidQueue {
            jids: VecDeque::new(),
            hwm: hwm.max(1),
        }
    }

    /// Record `jid`; false when it was already seen.
    pub fn insert(&mut self, jid: &str) -> bool {
        if self.jids.iter().any(|j| j == jid) {
            return false;
        }
        self.jids.push_back(jid.to_string());
        while self.jids.len() > self.hwm {
            self.jids.pop_front();
        }
        true
    }
}

/// A running minion.
pub struct Agent {
    pub opts: Value,
    pub aopts: AgentOpts,
    pub chan: Arc<MasterChannel>,
    zctx: zmq::Context,
    so: SocketOpts,
    grains: Arc<Value>,
    pillar: Value,
    hexid: String,
    jids: JidQueue,
    jobs: Vec<std::thread::JoinHandle<()>>,
}

impl Agent {
    /// Read the keys (generating them on first start) and prepare the
    /// channel; nothing is sent yet.
    pub fn new(opts: Value) -> Result<Agent, AgentError> {
        let aopts = AgentOpts::from_opts(&opts)?;
        tracing::info!(
            "Reading keys from {}",
            aopts.channel.check.pki_dir.display()
        );
        let keys = MinionKeys::load_or_generate(&aopts.channel.check.pki_dir, aopts.keysize)?;
        tracing::info!("Computing grains");
        let so = SocketOpts::from_opts(opts.as_map().unwrap_or(&Map::default()));
        let zctx = zmq::Context::new();
        let chan = MasterChannel::new(aopts.channel.clone(), keys, zctx.clone(), so.clone())?;
        let hexid = client::hexid(&aopts.channel.id);
        let aopts_hwm = aopts.jid_queue_hwm;
        let grains = Context::new(opts.clone()).grains().clone();
        tracing::info!("Grains ready; signing in to {}", aopts.channel.master);
        Ok(Agent {
            opts,
            aopts,
            chan: Arc::new(chan),
            zctx,
            so,
            grains: Arc::new(grains),
            pillar: Value::map(),
            hexid,
            jids: JidQueue::new(aopts_hwm),
            jobs: Vec::new(),
        })
    }

    /// A job context: shared grains, files and pillar from the master.
    pub fn context(&self) -> Context {
        context_for(&self.opts, &self.grains, &self.chan, &self.aopts)
    }

    fn event(&self, tag: &str, data: Value) {
        let mut load = Map::default();
        load.insert(s("cmd"), s("_minion_event"));
        load.insert(s("id"), s(&self.aopts.channel.id));
        load.insert(s("pretag"), Value::Null);
        load.insert(s("data"), data);
        load.insert(s("tag"), s(tag));
        if let Err(e) = self.chan.request(load, Duration::from_secs(10), 1) {
            tracing::warn!("Sending event {tag} to the master failed: {e}");
        }
    }

    /// Sign in, subscribe, then serve publishes until a fatal error.
    pub fn run(&mut self) -> Result<(), AgentError> {
        let sess = self.chan.authenticate(None)?;
        let pub_port = sess.publish_port.unwrap_or(self.aopts.publish_port);
        let sub = sockets::socket(&self.zctx, zmq::SUB, &self.so)?;
        if self.aopts.zmq_filtering {
            sub.set_subscribe(b"broadcast")?;
            sub.set_subscribe(self.hexid.as_bytes())?;
        } else {
            sub.set_subscribe(b"")?;
        }
        sub.connect(&sockets::tcp_endpoint(&self.aopts.channel.master, pub_port))?;
        self.refresh_pillar();
        let started = format!("Minion {} started at {}", self.aopts.channel.id, asctime());
        if self.aopts.legacy_start_event {
            self.event("minion_start", s(&started));
        }
        self.event(
            &format!("salt/minion/{}/start", self.aopts.channel.id),
            s(&started),
        );
        self.spawn_mine();
        let mut next_mine = Instant::now() + self.aopts.mine_interval;
        let mut busy = true;
        let mut last_reauth: Option<Instant> = None;
        loop {
            if self.chan.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            self.jobs.retain(|h| !h.is_finished());
            self.chan.close_idle(REQ_IDLE);
            if self.jobs.is_empty() && busy {
                // Idle again: give back what start-up or the jobs used.
                memory::trim();
                busy = false;
            } else if !self.jobs.is_empty() {
                busy = true;
            }
            if self.aopts.mine_interval > Duration::ZERO && Instant::now() >= next_mine {
                self.spawn_mine();
                next_mine = Instant::now() + self.aopts.mine_interval;
            }
            if sub.poll(zmq::POLLIN, 1000)? == 0 {
                continue;
            }
            let mut frames = Vec::new();
            loop {
                let f = sub.recv_bytes(0)?;
                if frames.len() < MAX_FRAMES {
                    frames.push(f);
                }
                if !sub.get_rcvmore()? {
                    break;
                }
            }
            self.on_publish(&frames, &mut last_reauth)?;
        }
    }

    fn on_publish(
        &mut self,
        frames: &[Vec<u8>],
        last_reauth: &mut Option<Instant>,
    ) -> Result<(), AgentError> {
        let Some((sess, generation)) = self.chan.session() else {
            return Ok(());
        };
        let hexid = self.hexid.clone();
        let require_sig = self.aopts.sign_pub_messages;
        let decode = |sess: &client::Session| {
            client::decode_publish(frames, &hexid, &sess.aes, &sess.master, require_sig)
        };
        let load = match decode(&sess) {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(()),
            Err(PublishError::Decrypt) => {
                // The master restarted or rotated its key: sign in again
                // (waiting if the key is now pending) and retry, at most
                // once every few seconds for undecryptable noise.
                if last_reauth.is_some_and(|t| t.elapsed() < Duration::from_secs(5)) {
                    tracing::debug!("Publish did not decrypt; ignored");
                    return Ok(());
                }
                *last_reauth = Some(Instant::now());
                tracing::info!("Publish did not decrypt: re-authenticating with the master");
                let sess = self.chan.authenticate(Some(generation))?;
                self.refresh_pillar();
                match decode(&sess) {
                    Ok(Some(l)) => l,
                    Ok(None) => return Ok(()),
                    Err(e) => {
                        tracing::warn!("Publish ignored after re-authenticating: {e}");
                        return Ok(());
                    }
                }
            }
            Err(e) => {
                tracing::warn!("Publish ignored: {e}");
                return Ok(());
            }
        };
        let Some(data) = load.as_map() else {
            return Ok(());
        };
        self.dispatch(data.clone());
        Ok(())
    }

    fn refresh_pillar(&mut self) {
        let remote = remote::AgentRemote {
            chan: self.chan.clone(),
            cachedir: self.aopts.cachedir.clone(),
        };
        match modules::Remote::pillar(&remote, &self.opts, &self.grains, None) {
            Ok(p) => self.pillar = p,
            Err(e) => tracing::warn!("Pillar from the master failed: {e}"),
        }
    }

    /// `Minion._target_load` + `_handle_decoded_payload`.
    fn dispatch(&mut self, data: Map) {
        for k in ["tgt", "jid", "fun", "arg"] {
            if !data.contains_key(&s(k)) {
                return;
            }
        }
        let tgt = data.get(&s("tgt")).cloned().unwrap_or(Value::Null);
        let tgt_type = data
            .get(&s("tgt_type"))
            .and_then(Value::as_str)
            .unwrap_or("glob")
            .to_string();
        let nodegroups = self.opts.get("nodegroups").cloned().unwrap_or(Value::Null);
        let mctx = MatchContext {
            id: &self.aopts.channel.id,
            grains: &self.grains,
            pillar: &self.pillar,
            nodegroups: &nodegroups,
        };
        let delim = data
            .get(&s("delimiter"))
            .and_then(Value::as_str)
            .unwrap_or(":");
        let matched = match tgt_type.as_str() {
            "grain" | "grain_pcre" | "pillar" | "pillar_pcre" => {
                matcher::match_with_delimiter(&tgt, &tgt_type, delim, &mctx)
            }
            other => matcher::matches(&tgt, other, &mctx),
        };
        match matched {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::debug!("Target {tgt:?} ({tgt_type}) does not apply: {e}");
                return;
            }
        }
        let jid = data
            .get(&s("jid"))
            .map(brine_core::output::pyrepr::str_of)
            .unwrap_or_default();
        if !self.jids.insert(&jid) {
            tracing::debug!("jid {jid} already seen: ignoring the publish");
            return;
        }
        tracing::info!(
            "Executing command {} with jid {jid}",
            data.get(&s("fun"))
                .map(brine_core::output::pyrepr::str_of)
                .unwrap_or_default()
        );
        let ctx = self.context();
        let chan = self.chan.clone();
        let tries = self.aopts.return_retry_tries;
        let timer = self.aopts.return_retry_timer;
        // `sdata`: the pid first, then the publish, as Salt's proc file.
        let mut job = Map::default();
        job.insert(s("pid"), Value::Int(std::process::id() as i128));
        job.extend(data.iter().map(|(k, v)| (k.clone(), v.clone())));
        modules::saltutil::job_started(&jid, Value::Map(job));
        let spawned = std::thread::Builder::new()
            .name(format!("job-{jid}"))
            .stack_size(JOB_STACK)
            .spawn(move || {
                let ret = jobs::run_job(&ctx, &data);
                modules::saltutil::job_finished(&jid);
                send_return(&chan, ret, &jid, tries, timer);
            });
        match spawned {
            Ok(h) => self.jobs.push(h),
            Err(e) => tracing::error!("Could not start a thread for job: {e}"),
        }
    }

    fn spawn_mine(&mut self) {
        let has = self
            .opts
            .get("mine_functions")
            .and_then(Value::as_map)
            .is_some_and(|m| !m.is_empty());
        if !has {
            return;
        }
        let ctx = self.context();
        let spawned = std::thread::Builder::new()
            .name("mine".into())
            .stack_size(JOB_STACK)
            .spawn(move || {
                if let Err(e) = ctx.call_raw("mine.update", Vec::new(), Map::default()) {
                    tracing::warn!("mine.update failed: {e}");
                }
            });
        if let Ok(h) = spawned {
            self.jobs.push(h);
        }
    }
}

fn context_for(
    opts: &Value,
    grains: &Value,
    chan: &Arc<MasterChannel>,
    aopts: &AgentOpts,
) -> Context {
    let ctx = Context::new(opts.clone())
        .with_grains(grains.clone())
        .with_remote(Arc::new(remote::AgentRemote {
            chan: chan.clone(),
            cachedir: aopts.cachedir.clone(),
        }));
    ctx.from_cli.store(true, Ordering::SeqCst);
    ctx
}

/// `_return_pub` with retries: `tries` attempts, each waiting up to `timer`.
fn send_return(chan: &MasterChannel, ret: Map, jid: &str, tries: u32, timer: Duration) {
    for attempt in 1..=tries.max(1) {
        match chan.request(ret.clone(), timer, 1) {
            Ok(_) => {
                tracing::info!("Returned job {jid}");
                return;
            }
            Err(e) => tracing::warn!(
                "The minion failed to return the job information for job {jid} (attempt \
                 {attempt}/{tries}): {e}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replayed_jids_are_refused() {
        let mut q = JidQueue::new(2);
        assert!(q.insert("1"));
        assert!(!q.insert("1"));
        assert!(q.insert("2"));
        assert!(q.insert("3"));
        // Bounded: the oldest is forgotten.
        assert!(q.insert("1"));
        assert!(!q.insert("3"));
    }

    #[test]
    fn options_from_salt_names() {
        let mut m = Map::default();
        m.insert(s("id"), s("m1"));
        m.insert(s("master"), s("10.0.0.1"));
        m.insert(s("master_port"), Value::Int(5506));
        m.insert(s("acceptance_wait_time"), Value::Int(2));
        m.insert(s("acceptance_wait_time_max"), Value::Int(8));
        m.insert(s("master_finger"), s("aa:bb"));
        let o = AgentOpts::from_opts(&Value::Map(m.clone())).unwrap();
        assert_eq!(o.channel.master, "10.0.0.1");
        assert_eq!(o.channel.master_port, 5506);
        assert_eq!(o.publish_port, 4505);
        assert_eq!(o.channel.acceptance_wait_time, Duration::from_secs(2));
        assert_eq!(o.channel.check.master_finger.as_deref(), Some("aa:bb"));
        m.insert(s("master_port"), s("nope"));
        assert!(AgentOpts::from_opts(&Value::Map(m)).is_err());
        assert!(asctime().len() >= 24);
    }
}
