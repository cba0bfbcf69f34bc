//! The local socket the CLIs (`brine`, `brine-run`) talk to the running
//! master through: `sock_dir/brine-local.sock`, a unix stream socket of
//! mode 0600 whose peers must be root or the master's own user (checked
//! with SO_PEERCRED on every connection). Brine's replacement for Salt's
//! ClearFuncs-over-ret_port + master event socket, for local clients.
//!
//! Frames, both ways: a 4-byte big-endian length, then msgpack
//! (`payload::dumps`), at most [`MAX_FRAME`] bytes.
//! Requests: `{cmd: "publish", tgt, tgt_type, fun, arg, kwarg, ret,
//! timeout, jid, user}` -> `{jid, minions}` (an empty jid and no minions:
//! nothing matched, nothing was sent) or `{error}`;
//! `{cmd: "subscribe", prefix}` -> `{ok: true}`, then `{event: {tag, data}}`
//! frames for every bus event whose tag starts with the prefix.

use crate::events::Event;
use brine_core::value::{Map, Value};
use brine_core::wire::payload;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest frame accepted on the local socket (100 MiB).
pub const MAX_FRAME: usize = 100 * 1024 * 1024;
/// The socket's file name inside `sock_dir`.
pub const SOCK_NAME: &str = "brine-local.sock";
/// Most client connections served at once.
pub const MAX_CLIENTS: usize = 64;

/// A local socket failure.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot connect to the master at {path}: {source} (is brine-master running, and are you root?)")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("local socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes is larger than the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    #[error("bad frame from the master: {0}")]
    Payload(#[from] payload::PayloadError),
    #[error("the master closed the connection")]
    Closed,
    #[error("the master refused the request: {0}")]
    Refused(String),
    #[error("unexpected reply from the master: {0}")]
    Protocol(String),
}

/// A job to publish (Salt's LocalClient `pub` arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct PublishRequest {
    pub tgt: Value,
    pub tgt_type: String,
    pub fun: String,
    pub arg: Vec<Value>,
    pub kwarg: Map,
    pub ret: String,
    pub timeout: u64,
    pub jid: Option<String>,
    pub user: String,
}

/// The master's answer to a publish: the jid and the minions expected to
/// return. An empty jid with no minions: nothing matched, nothing sent.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishReply {
    pub jid: String,
    pub minions: Vec<String>,
}

fn k(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// Write one frame.
pub fn write_frame(w: &mut impl Write, v: &Value) -> Result<(), LocalError> {
    let body = payload::dumps(v);
    if body.len() > MAX_FRAME {
        return Err(LocalError::TooLarge(body.len()));
    }
    let mut buf = (body.len() as u32).to_be_bytes().to_vec();
    buf.extend_from_slice(&body);
    w.write_all(&buf)?;
    w.flush()?;
    Ok(())
}

/// Read one frame (None at a clean end of stream).
pub fn read_frame(r: &mut impl Read) -> Result<Option<Value>, LocalError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let n = u32::from_be_bytes(len) as usize;
    if n > MAX_FRAME {
        return Err(LocalError::TooLarge(n));
    }
    // Grow with the data actually received, not the announced length.
    let mut body = Vec::with_capacity(n.min(1 << 16));
    r.by_ref().take(n as u64).read_to_end(&mut body)?;
    if body.len() != n {
        return Err(LocalError::Closed);
    }
    Ok(Some(payload::loads(&body)?))
}

impl PublishRequest {
    /// The request as a frame map (`cmd: publish`).
    pub fn to_value(&self) -> Value {
        let mut m = Map::default();
        m.insert(k("cmd"), k("publish"));
        m.insert(k("tgt"), self.tgt.clone());
        m.insert(k("tgt_type"), k(&self.tgt_type));
        m.insert(k("fun"), k(&self.fun));
        m.insert(k("arg"), Value::List(self.arg.clone()));
        m.insert(k("kwarg"), Value::Map(self.kwarg.clone()));
        m.insert(k("ret"), k(&self.ret));
        m.insert(k("timeout"), Value::Int(self.timeout as i128));
        m.insert(k("jid"), self.jid.as_deref().map(k).unwrap_or(Value::Null));
        m.insert(k("user"), k(&self.user));
        Value::Map(m)
    }

    /// Parse a request frame map; missing fields take LocalClient defaults.
    pub fn from_value(v: &Value) -> Result<PublishRequest, String> {
        let s = |key: &str, d: &str| v.get(key).and_then(Value::as_str).unwrap_or(d).to_string();
        let fun = s("fun", "");
        if fun.is_empty() {
            return Err("no function to publish".into());
        }
        let tgt = v.get("tgt").cloned().unwrap_or_else(|| k("*"));
        Ok(PublishRequest {
            tgt,
            tgt_type: s("tgt_type", "glob"),
            fun,
            arg: match v.get("arg") {
                Some(Value::List(l)) => l.clone(),
                _ => Vec::new(),
            },
            kwarg: match v.get("kwarg") {
                Some(Value::Map(m)) => m.clone(),
                _ => Map::default(),
            },
            ret: s("ret", ""),
            timeout: match v.get("timeout") {
                Some(Value::Int(i)) => (*i).clamp(0, u32::MAX as i128) as u64,
                _ => 5,
            },
            jid: v
                .get("jid")
                .and_then(Value::as_str)
                .filter(|j| !j.is_empty())
                .map(str::to_string),
            user: s("user", "root"),
        })
    }
}

impl From<crate::reactor::LocalCall> for PublishRequest {
    /// A reactor's `local` call, published as root with a new jid.
    fn from(c: crate::reactor::LocalCall) -> PublishRequest {
        PublishRequest {
            tgt: c.tgt,
            tgt_type: c.tgt_type,
            fun: c.fun,
            arg: c.arg,
            kwarg: c.kwarg,
            ret: String::new(),
            timeout: 5,
            jid: None,
            user: "Reactor".to_string(),
        }
    }
}

/// A CLI's connection to the master.
pub struct LocalClient {
    stream: UnixStream,
    pending: VecDeque<Event>,
}

fn event_of(v: &Value) -> Option<Event> {
    let ev = v.get("event")?;
    Some(Event {
        tag: ev.get("tag")?.as_str()?.to_string(),
        data: ev.get("data").cloned().unwrap_or(Value::Null),
    })
}

impl LocalClient {
    /// Connect to `sock_dir/brine-local.sock`.
    pub fn connect(sock_dir: &Path) -> Result<LocalClient, LocalError> {
        let path = sock_dir.join(SOCK_NAME);
        let stream = UnixStream::connect(&path).map_err(|source| LocalError::Connect {
            path: path.display().to_string(),
            source,
        })?;
        Ok(LocalClient {
            stream,
            pending: VecDeque::new(),
        })
    }

    /// Send a request and wait (at most `wait`) for its reply, keeping
    /// events that arrive meanwhile for [`LocalClient::next_event`].
    fn call(&mut self, req: &Value, wait: Duration) -> Result<Value, LocalError> {
        self.stream.set_read_timeout(None)?;
        write_frame(&mut self.stream, req)?;
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LocalError::Protocol("no reply from the master".into()));
            }
            self.stream.set_read_timeout(Some(left))?;
            let v = match read_frame(&mut self.stream) {
                Ok(Some(v)) => v,
                Ok(None) => return Err(LocalError::Closed),
                Err(LocalError::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    return Err(LocalError::Protocol("no reply from the master".into()))
                }
                Err(e) => return Err(e),
            };
            if let Some(ev) = event_of(&v) {
                self.pending.push_back(ev);
                continue;
            }
            if let Some(e) = v.get("error") {
                let msg = e
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{e:?}"));
                return Err(LocalError::Refused(msg));
            }
            return Ok(v);
        }
    }

    /// Publish a job; the reply names the jid and the expected minions.
    pub fn publish(&mut self, req: &PublishRequest) -> Result<PublishReply, LocalError> {
        let v = self.call(&req.to_value(), Duration::from_secs(120))?;
        let jid = v
            .get("jid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let minions = match v.get("minions") {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        Ok(PublishReply { jid, minions })
    }

    /// Receive every later event whose tag starts with `tag_prefix`.
    pub fn subscribe(&mut self, tag_prefix: &str) -> Result<(), LocalError> {
        let req = Value::Map(Map::from_iter([
            (k("cmd"), k("subscribe")),
            (k("prefix"), k(tag_prefix)),
        ]));
        self.call(&req, Duration::from_secs(30))?;
        Ok(())
    }

    /// The next subscribed event, or None when `timeout` passes first.
    pub fn next_event(&mut self, timeout: Duration) -> Result<Option<Event>, LocalError> {
        if let Some(ev) = self.pending.pop_front() {
            return Ok(Some(ev));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.stream.set_read_timeout(Some(left))?;
            // Peek so a timeout never leaves half a frame consumed.
            let mut b = [0u8; 1];
            match peek(&self.stream, &mut b) {
                Ok(0) => return Err(LocalError::Closed),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e.into()),
            }
            // A frame has started: read it whole.
            self.stream
                .set_read_timeout(Some(Duration::from_secs(30)))?;
            match read_frame(&mut self.stream)? {
                None => return Err(LocalError::Closed),
                Some(v) => {
                    if let Some(ev) = event_of(&v) {
                        return Ok(Some(ev));
                    }
                }
            }
        }
    }
}

/// What the local server needs from the daemon.
pub trait LocalHandler: Send + Sync + 'static {
    /// Publish a job.
    fn publish(&self, req: &PublishRequest) -> Result<PublishReply, String>;
    /// Subscribe to the event bus.
    fn subscribe(&self, prefix: &str) -> std::sync::mpsc::Receiver<Event>;
}

/// The server side: a listener thread and one thread per client.
pub struct LocalServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// `recv(MSG_PEEK)`: wait (up to the read timeout) for data without
/// consuming it.
fn peek(stream: &UnixStream, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: recv writes at most buf.len() bytes into buf.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
            libc::MSG_PEEK,
        )
    };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// The uid of the peer of a unix stream (SO_PEERCRED).
pub fn peer_uid(stream: &UnixStream) -> Option<u32> {
    use std::os::unix::io::AsRawFd;
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, which we own.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut libc::ucred as *mut libc::c_void,
            &mut len,
        )
    };
    (rc == 0).then_some(cred.uid)
}

impl LocalServer {
    /// Bind `sock_dir/brine-local.sock` (mode 0600) and serve `handler`.
    pub fn start(
        sock_dir: &Path,
        handler: Arc<dyn LocalHandler>,
    ) -> Result<LocalServer, LocalError> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(sock_dir)?;
        let path = sock_dir.join(SOCK_NAME);
        let _ = std::fs::remove_file(&path);
        // Create the socket with no access for others from the start.
        // SAFETY: umask only changes this process's file creation mask.
        let old = unsafe { libc::umask(0o177) };
        let bound = UnixListener::bind(&path);
        unsafe { libc::umask(old) };
        let listener = bound?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("local-socket".into())
            .spawn(move || accept_loop(listener, handler, stop2))?;
        Ok(LocalServer {
            path,
            stop,
            thread: Some(thread),
        })
    }

    /// Stop accepting and remove the socket file.
    pub fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: UnixListener, handler: Arc<dyn LocalHandler>, stop: Arc<AtomicBool>) {
    let active = Arc::new(AtomicUsize::new(0));
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    while !stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => {
                tracing::error!("local socket accept: {}", e);
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        let mut stream = stream;
        match peer_uid(&stream) {
            Some(uid) if uid == 0 || uid == me => {}
            other => {
                tracing::warn!("Refusing a local client with uid {:?}", other);
                let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                let _ = write_frame(
                    &mut stream,
                    &Value::Map(Map::from_iter([(
                        k("error"),
                        k("permission denied: only root or the master's user may use the local socket"),
                    )])),
                );
                continue;
            }
        }
        if active.load(Ordering::SeqCst) >= MAX_CLIENTS {
            tracing::warn!("Too many local clients, refusing one");
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let h = handler.clone();
        let a = active.clone();
        let st = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("local-client".into())
            .spawn(move || {
                serve_client(stream, h, st);
                a.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn serve_client(stream: UnixStream, handler: Arc<dyn LocalHandler>, stop: Arc<AtomicBool>) {
    let Ok(wr) = stream.try_clone() else {
        return;
    };
    let _ = wr.set_write_timeout(Some(Duration::from_secs(30)));
    let writer = Arc::new(Mutex::new(wr));
    let closed = Arc::new(AtomicBool::new(false));
    let mut reader = stream;
    let _ = reader.set_read_timeout(Some(Duration::from_millis(500)));
    let send = |w: &Arc<Mutex<UnixStream>>, v: &Value| -> bool {
        let mut g = w.lock().unwrap_or_else(|e| e.into_inner());
        write_frame(&mut *g, v).is_ok()
    };
    let mut forwarders = Vec::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        // Wait for the start of a frame without consuming it.
        let mut b = [0u8; 1];
        match peek(&reader, &mut b) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(_) => break,
        }
        let _ = reader.set_read_timeout(Some(Duration::from_secs(30)));
        let req = match read_frame(&mut reader) {
            Ok(Some(v)) => v,
            Ok(None) => break,
            Err(e) => {
                let _ = send(
                    &writer,
                    &Value::Map(Map::from_iter([(k("error"), k(&e.to_string()))])),
                );
                break;
            }
        };
        let _ = reader.set_read_timeout(Some(Duration::from_millis(500)));
        let reply = match req.get("cmd").and_then(Value::as_str) {
            Some("publish") => {
                match PublishRequest::from_value(&req).and_then(|r| handler.publish(&r)) {
                    Ok(r) => Value::Map(Map::from_iter([
                        (k("jid"), k(&r.jid)),
                        (
                            k("minions"),
                            Value::List(r.minions.iter().map(|m| k(m)).collect()),
                        ),
                    ])),
                    Err(e) => Value::Map(Map::from_iter([(k("error"), k(&e))])),
                }
            }
            Some("subscribe") => {
                let prefix = req.get("prefix").and_then(Value::as_str).unwrap_or("");
                let rx = handler.subscribe(prefix);
                let w = writer.clone();
                let c = closed.clone();
                let st = stop.clone();
                let t = std::thread::Builder::new()
                    .name("local-events".into())
                    .spawn(move || {
                        while !c.load(Ordering::SeqCst) && !st.load(Ordering::SeqCst) {
                            match rx.recv_timeout(Duration::from_millis(200)) {
                                Ok(ev) => {
                                    let v = Value::Map(Map::from_iter([(
                                        k("event"),
                                        Value::Map(Map::from_iter([
                                            (k("tag"), k(&ev.tag)),
                                            (k("data"), ev.data),
                                        ])),
                                    )]));
                                    let mut g = w.lock().unwrap_or_else(|e| e.into_inner());
                                    if write_frame(&mut *g, &v).is_err() {
                                        break;
                                    }
                                }
                                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                                Err(_) => break,
                            }
                        }
                    });
                if let Ok(t) = t {
                    forwarders.push(t);
                }
                Value::Map(Map::from_iter([(k("ok"), Value::Bool(true))]))
            }
            other => Value::Map(Map::from_iter([(
                k("error"),
                k(&format!("unknown command {other:?}")),
            )])),
        };
        if !send(&writer, &reply) {
            break;
        }
    }
    closed.store(true, Ordering::SeqCst);
    for t in forwarders {
        let _ = t.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_are_bounded() {
        let v = Value::Map(Map::from_iter([(k("cmd"), k("publish"))]));
        let mut buf = Vec::new();
        write_frame(&mut buf, &v).unwrap();
        assert_eq!(&buf[..4], &(buf.len() as u32 - 4).to_be_bytes());
        assert_eq!(read_frame(&mut &buf[..]).unwrap(), Some(v));
        assert_eq!(read_frame(&mut &b""[..]).unwrap(), None);
        // Announced beyond the limit: refused before reading the body.
        let big = ((MAX_FRAME + 1) as u32).to_be_bytes();
        assert!(matches!(
            read_frame(&mut &big[..]),
            Err(LocalError::TooLarge(_))
        ));
        // Announced 1 MiB, 3 bytes sent: an error, no 1 MiB allocation.
        let mut short = (1u32 << 20).to_be_bytes().to_vec();
        short.extend_from_slice(b"abc");
        assert!(read_frame(&mut &short[..]).is_err());
        // Truncated msgpack.
        let mut trunc = 3u32.to_be_bytes().to_vec();
        trunc.extend_from_slice(b"\x82\xa3c");
        assert!(matches!(
            read_frame(&mut &trunc[..]),
            Err(LocalError::Payload(_))
        ));
    }

    #[test]
    fn publish_request_round_trip() {
        let req = PublishRequest {
            tgt: Value::List(vec![k("a"), k("b")]),
            tgt_type: "list".into(),
            fun: "test.arg".into(),
            arg: vec![Value::Int(1)],
            kwarg: Map::from_iter([(k("x"), Value::Bool(true))]),
            ret: String::new(),
            timeout: 7,
            jid: Some("20260101010101000001".into()),
            user: "root".into(),
        };
        assert_eq!(PublishRequest::from_value(&req.to_value()).unwrap(), req);
        assert!(PublishRequest::from_value(&Value::map()).is_err());
    }
}
