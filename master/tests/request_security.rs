//! The request server and the local socket refuse what they must:
//! - an `aes` load without a valid session, without a token or with a
//!   wrong token is answered "bad load" and no handler runs (no event);
//! - the clear `publish`/`wheel`/`runner` commands run nothing without the
//!   master's root key or with a wrong one (the CVE-2020-11651 class);
//! - garbage frames, truncated msgpack, a 200 MiB-announced frame and a
//!   flood of junk leave the master answering a well-behaved client;
//! - the local socket refuses a non-root peer (a forked child that
//!   setuid(65534)s), both by its mode and by SO_PEERCRED.
//!
//! The test client speaks the minion side of the protocol itself (Salt's
//! AsyncAuth + AsyncReqChannel) with brine_core's wire pieces.

use brine_core::value::{Map, Value};
use brine_core::wire::crypticle::Crypticle;
use brine_core::wire::keys::{EncAlgo, PrivateKey};
use brine_core::wire::payload;
use brine_core::wire::server::{x931_sign, RawPrivateKey};
use brine_master::events::Event;
use brine_master::keys::KeyStore;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

fn k(s: &str) -> Value {
    Value::Str(s.to_string())
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(a, b)| (k(a), b)).collect::<Map>())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Fixture {
    dir: PathBuf,
    running: Option<brine_master::daemon::Running>,
    ret_ep: String,
    ret_port: u16,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Fixture {
    fn start(name: &str) -> Fixture {
        Fixture::start_with(name, "")
    }

    fn start_with(name: &str, extra: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("brine-reqsec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        std::fs::create_dir_all(dir.join("srv")).unwrap();
        let ret_port = free_port();
        std::fs::write(
            dir.join("conf/master"),
            format!(
                "root_dir: {d}/root\npki_dir: {d}/root/pki\ncachedir: {d}/root/cache\n\
                 sock_dir: {d}/root/sock\nlog_file: {d}/root/master.log\n\
                 interface: 127.0.0.1\npublish_port: {p}\nret_port: {ret_port}\n\
                 worker_threads: 2\nfile_roots: {{base: [{d}/srv]}}\n\
                 pillar_roots: {{base: [{d}/srv]}}\n{extra}",
                d = dir.display(),
                p = free_port(),
            ),
        )
        .unwrap();
        let opts = brine_master::config::load_master_config(&dir.join("conf")).unwrap();
        let running = brine_master::daemon::start(opts).unwrap();
        Fixture {
            ret_ep: format!("tcp://127.0.0.1:{ret_port}"),
            ret_port,
            dir,
            running: Some(running),
        }
    }

    fn master(&self) -> &brine_master::daemon::Master {
        &self.running.as_ref().unwrap().master
    }

    fn events(&self, prefix: &str) -> Receiver<Event> {
        self.master().bus.subscribe(prefix)
    }

    fn keys(&self) -> KeyStore {
        KeyStore::new(&self.dir.join("root/pki")).unwrap()
    }

    fn cachedir(&self) -> PathBuf {
        self.dir.join("root/cache")
    }

    /// One REQ round trip (None on timeout).
    fn request(&self, ctx: &zmq::Context, body: &[u8]) -> Option<Value> {
        let s = ctx.socket(zmq::REQ).unwrap();
        s.set_linger(0).unwrap();
        s.set_rcvtimeo(10_000).unwrap();
        s.connect(&self.ret_ep).unwrap();
        s.send(body, 0).unwrap();
        let r = s.recv_bytes(0).ok()?;
        Some(payload::loads(&r).unwrap())
    }
}

/// A minion, as the test plays it.
struct FakeMinion {
    id: String,
    key: PrivateKey,
    raw: RawPrivateKey,
    session: Option<Crypticle>,
}

impl FakeMinion {
    fn new(id: &str) -> FakeMinion {
        let key = PrivateKey::generate(2048).unwrap();
        let raw = RawPrivateKey::new(&key).unwrap();
        FakeMinion {
            id: id.into(),
            key,
            raw,
            session: None,
        }
    }

    fn auth_load(&self) -> Vec<u8> {
        let load = map(vec![
            ("cmd", k("_auth")),
            ("id", k(&self.id)),
            ("pub", k(&self.key.public_key().to_pem().unwrap())),
            ("nonce", k("0123456789abcdef0123456789abcdef")),
            ("enc_algo", k("OAEP-SHA1")),
            ("sig_algo", k("PKCS1v15-SHA1")),
        ]);
        payload::dumps(&map(vec![
            ("enc", k("clear")),
            ("load", load),
            ("version", Value::Int(3)),
        ]))
    }

    /// `_auth`; returns the inner reply load.
    fn auth(&mut self, f: &Fixture, ctx: &zmq::Context) -> Value {
        let reply = f.request(ctx, &self.auth_load()).expect("auth reply");
        let inner = match reply.get("load") {
            Some(Value::Bytes(b)) => payload::loads(b).unwrap(),
            Some(Value::Str(s)) => payload::loads(s.as_bytes()).unwrap(),
            other => panic!("unsigned auth reply {other:?}"),
        };
        if let Some(Value::Bytes(sess)) = inner.get("session") {
            let s = self.key.decrypt(sess, EncAlgo::OaepSha1).unwrap();
            self.session = Some(Crypticle::new(std::str::from_utf8(&s).unwrap(), 192).unwrap());
        }
        inner
    }

    fn tok(&self) -> Vec<u8> {
        x931_sign(&self.raw, b"salt").unwrap()
    }

    /// An aes request framed as AsyncReqChannel._package_load does.
    fn aes_frame(
        &self,
        c: &Crypticle,
        mut load: Map,
        tok: Option<Vec<u8>>,
        nonce: &str,
    ) -> Vec<u8> {
        load.insert(k("nonce"), k(nonce));
        load.insert(k("ts"), Value::Int(0));
        load.insert(k("id"), k(&self.id));
        if let Some(t) = tok {
            load.insert(k("tok"), Value::Bytes(t));
        }
        let enc = c.dumps(&Value::Map(load), None);
        payload::dumps(&map(vec![
            ("enc", k("aes")),
            ("load", Value::Bytes(enc)),
            ("version", Value::Int(3)),
            ("id", k(&self.id)),
            ("enc_algo", k("OAEP-SHA1")),
            ("sig_algo", k("PKCS1v15-SHA1")),
        ]))
    }
}

fn return_load(jid: &str) -> Map {
    match map(vec![
        ("cmd", k("_return")),
        ("jid", k(jid)),
        ("fun", k("test.ping")),
        ("return", Value::Bool(true)),
        ("retcode", Value::Int(0)),
        ("success", Value::Bool(true)),
    ]) {
        Value::Map(m) => m,
        _ => unreachable!(),
    }
}

fn no_event(rx: &Receiver<Event>, wait: Duration) -> Option<Event> {
    rx.recv_timeout(wait).ok()
}

const NONCE: &str = "fedcba9876543210fedcba9876543210";

#[test]
fn aes_requests_need_a_session_and_a_token() {
    // A reactor on a minion's custom event, to check the daemon publishes
    // what the reactor asks for.
    let rdir = std::env::temp_dir().join(format!("brine-reqsec-reactor-{}", std::process::id()));
    std::fs::create_dir_all(&rdir).unwrap();
    let sls = rdir.join("ok.sls");
    std::fs::write(
        &sls,
        "answer:\n  local.test.echo:\n    - tgt: {{ data['id'] }}\n    - args:\n      - text: reacted\n",
    )
    .unwrap();
    let f = Fixture::start_with(
        "aes",
        &format!("reactor:\n  - 'custom/*':\n    - {}\n", sls.display()),
    );
    let ctx = zmq::Context::new();
    let mut m = FakeMinion::new("sec1");
    // Unknown key: pending, no session.
    let r = m.auth(&f, &ctx);
    assert_eq!(r.get("ret"), Some(&Value::Bool(true)));
    assert!(m.session.is_none());
    let rets = f.events("salt/job/");
    // A session key the master never issued: refused.
    let forged = Crypticle::generate(192);
    let frame = m.aes_frame(
        &forged,
        return_load("20260101010101000001"),
        Some(m.tok()),
        NONCE,
    );
    assert_eq!(f.request(&ctx, &frame), Some(k("bad load")));
    assert!(no_event(&rets, Duration::from_millis(300)).is_none());

    f.keys().accept("sec1").unwrap();
    let r = m.auth(&f, &ctx);
    assert_eq!(r.get("enc"), Some(&k("pub")));
    let session = m.session.clone().expect("session key");
    // Valid session, no token: refused, no handler ran.
    let frame = m.aes_frame(&session, return_load("20260101010101000002"), None, NONCE);
    assert_eq!(f.request(&ctx, &frame), Some(k("bad load")));
    // Valid session, a token signed by another key: refused.
    let other = FakeMinion::new("other");
    let frame = m.aes_frame(
        &session,
        return_load("20260101010101000003"),
        Some(other.tok()),
        NONCE,
    );
    assert_eq!(f.request(&ctx, &frame), Some(k("bad load")));
    // Garbage ciphertext: refused.
    let frame = payload::dumps(&map(vec![
        ("enc", k("aes")),
        ("load", Value::Bytes(vec![7; 200])),
        ("version", Value::Int(3)),
        ("id", k("sec1")),
    ]));
    assert_eq!(f.request(&ctx, &frame), Some(k("bad load")));
    // Claiming to be another (unaccepted) minion: refused.
    let mut spoof = m.aes_frame(
        &session,
        return_load("20260101010101000004"),
        Some(m.tok()),
        NONCE,
    );
    spoof = {
        let mut v = payload::loads(&spoof).unwrap();
        if let Value::Map(mm) = &mut v {
            mm.insert(k("id"), k("nobody"));
        }
        payload::dumps(&v)
    };
    assert_eq!(f.request(&ctx, &spoof), Some(k("bad load")));
    assert!(
        no_event(&rets, Duration::from_millis(300)).is_none(),
        "a handler ran for a refused request"
    );
    // Control: the real thing is accepted and fires the return event.
    let frame = m.aes_frame(
        &session,
        return_load("20260101010101000005"),
        Some(m.tok()),
        NONCE,
    );
    let reply = f.request(&ctx, &frame).unwrap();
    let Value::Bytes(b) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(session.loads(&b, Some(NONCE)).unwrap(), Value::Null);
    let ev = rets.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(ev.tag, "salt/job/20260101010101000005/ret/sec1");
    // A minion may not fire blacklisted tags.
    let evs = f.events("");
    let mut ev_load = Map::default();
    ev_load.insert(k("cmd"), k("_minion_event"));
    ev_load.insert(
        k("events"),
        Value::List(vec![
            map(vec![("tag", k("salt/key")), ("data", map(vec![]))]),
            map(vec![
                ("tag", k("custom/ok")),
                ("data", map(vec![("id", k("sec1"))])),
            ]),
        ]),
    );
    let frame = m.aes_frame(&session, ev_load, Some(m.tok()), NONCE);
    assert!(matches!(f.request(&ctx, &frame), Some(Value::Bytes(_))));
    let ev = evs.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(ev.tag, "custom/ok");
    // The reactor published test.echo to the minion that fired it.
    let t = Instant::now();
    let mut reacted = None;
    while t.elapsed() < Duration::from_secs(10) && reacted.is_none() {
        if let Ok(ev) = evs.recv_timeout(Duration::from_millis(200)) {
            if ev.tag.ends_with("/new") && ev.data.get("fun") == Some(&k("test.echo")) {
                reacted = Some(ev);
            }
        }
    }
    let ev = reacted.expect("the reactor's publish");
    assert_eq!(ev.data.get("minions"), Some(&Value::List(vec![k("sec1")])));
    assert_eq!(ev.data.get("user"), Some(&k("Reactor")));
    let _ = std::fs::remove_dir_all(&rdir);
}

#[test]
fn clear_commands_need_the_root_key() {
    let f = Fixture::start("clear");
    let ctx = zmq::Context::new();
    let mut m = FakeMinion::new("sec2");
    m.auth(&f, &ctx);
    f.keys().accept("sec2").unwrap();
    let jobs = f.events("salt/job/");
    let root_key = std::fs::read_to_string(f.cachedir().join(".root_key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(f.cachedir().join(".root_key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o400);
    let clear = |cmd: &str, key: Option<&str>| {
        let mut load = vec![
            ("cmd", k(cmd)),
            ("tgt", k("*")),
            ("tgt_type", k("glob")),
            ("fun", k("cmd.run")),
            ("arg", Value::List(vec![k("touch /tmp/pwned")])),
            ("user", k("root")),
        ];
        if let Some(key) = key {
            load.push(("key", k(key)));
        }
        payload::dumps(&map(vec![("enc", k("clear")), ("load", map(load))]))
    };
    for cmd in ["publish", "wheel", "runner"] {
        for key in [
            None,
            Some("wrong"),
            Some(""),
            Some(&root_key[..root_key.len() - 1]),
        ] {
            let reply = f.request(&ctx, &clear(cmd, key)).unwrap();
            assert_eq!(
                reply.get("error").and_then(|e| e.get("name")),
                Some(&k("AuthenticationError")),
                "{cmd} {key:?}: {reply:?}"
            );
        }
    }
    assert!(
        no_event(&jobs, Duration::from_millis(500)).is_none(),
        "a refused clear publish ran"
    );
    // Control: with the root key the publish goes out.
    let mut load = match payload::loads(&clear("publish", Some(&root_key))).unwrap() {
        Value::Map(m) => m,
        _ => unreachable!(),
    };
    if let Some(Value::Map(l)) = load.get_mut(&k("load")) {
        l.insert(k("fun"), k("test.ping"));
        l.insert(k("arg"), Value::List(vec![]));
    }
    let reply = f.request(&ctx, &payload::dumps(&Value::Map(load))).unwrap();
    let inner = reply.get("load").unwrap();
    assert_eq!(inner.get("minions"), Some(&Value::List(vec![k("sec2")])));
    let jid = inner
        .get("jid")
        .and_then(Value::as_str)
        .unwrap()
        .to_string();
    let ev = jobs.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(ev.tag, format!("salt/job/{jid}/new"));
}

/// ZMTP 3.0 greeting (NULL mechanism) + READY for a REQ socket.
fn zmtp_hello() -> Vec<u8> {
    let mut g = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0];
    let mut mech = b"NULL".to_vec();
    mech.resize(20, 0);
    g.extend_from_slice(&mech);
    g.push(0);
    g.extend_from_slice(&[0u8; 31]);
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&3u32.to_be_bytes());
    body.extend_from_slice(b"REQ");
    g.push(0x04);
    g.push(body.len() as u8);
    g.extend_from_slice(&body);
    g
}

fn ping(f: &Fixture, ctx: &zmq::Context) -> bool {
    let body = payload::dumps(&map(vec![
        ("enc", k("clear")),
        ("load", map(vec![("cmd", k("ping")), ("x", Value::Int(1))])),
    ]));
    f.request(ctx, &body)
        .is_some_and(|r| r.get("x") == Some(&Value::Int(1)))
}

#[test]
fn junk_never_stops_the_request_server() {
    let f = Fixture::start("junk");
    let ctx = zmq::Context::new();
    assert!(ping(&f, &ctx));
    // Garbage and truncated msgpack get a "bad load" answer.
    for junk in [
        &b"\xc1\xc1\xc1"[..],
        b"\x82\xa3enc\xa5clear\xa4lo",
        b"",
        b"\x92\x01",
        b"\xdf\xff\xff\xff\xff",
        b"\xdd\x7f\xff\xff\xff",
    ] {
        let r = f.request(&ctx, junk);
        assert!(r.is_some(), "no answer to {junk:?}");
    }
    // Wrong shapes.
    for v in [
        map(vec![("enc", k("clear")), ("load", k("x"))]),
        map(vec![("enc", k("rot13")), ("load", map(vec![]))]),
        map(vec![
            ("enc", k("clear")),
            ("load", map(vec![("cmd", k("_auth"))])),
        ]),
        map(vec![
            ("enc", k("clear")),
            (
                "load",
                map(vec![("cmd", k("_auth")), ("id", k("../../etc"))]),
            ),
        ]),
        map(vec![
            ("enc", k("clear")),
            (
                "load",
                map(vec![("cmd", k("_auth")), ("id", Value::Int(3))]),
            ),
        ]),
    ] {
        assert!(f.request(&ctx, &payload::dumps(&v)).is_some());
    }
    assert!(!f.dir.join("root/pki/etc").exists());
    // A frame announcing 200 MiB (over max_message_size): dropped.
    let mut evil = std::net::TcpStream::connect(("127.0.0.1", f.ret_port)).unwrap();
    evil.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    evil.write_all(&zmtp_hello()).unwrap();
    let mut frame = vec![0x02];
    frame.extend_from_slice(&(200u64 << 20).to_be_bytes());
    frame.extend_from_slice(&[0u8; 4096]);
    let _ = evil.write_all(&frame);
    let mut buf = [0u8; 512];
    let mut closed = false;
    for _ in 0..50 {
        match evil.read(&mut buf) {
            Ok(0) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => continue,
        }
    }
    assert!(closed, "the master kept a connection announcing 200 MiB");
    // A flood: raw TCP junk and DEALER junk, bounded.
    let t = Instant::now();
    for i in 0..50u8 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", f.ret_port)) {
            let _ = s.write_all(&vec![i; 3000]);
        }
    }
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.set_sndtimeo(1000).unwrap();
    dealer.connect(&f.ret_ep).unwrap();
    for i in 0..1000u32 {
        let body = i.to_be_bytes().repeat((i % 64) as usize + 1);
        let _ = if i % 2 == 0 {
            dealer.send_multipart([&b""[..], &body[..]], 0)
        } else {
            dealer.send_multipart([&body[..]], 0)
        };
    }
    assert!(t.elapsed() < Duration::from_secs(30));
    // Still serving.
    let t = Instant::now();
    let mut ok = false;
    while t.elapsed() < Duration::from_secs(20) && !ok {
        ok = ping(&f, &ctx);
    }
    assert!(ok, "the master stopped answering after the junk");
}

/// In a forked child running as uid 65534: connect to `path`, read what
/// the server says. Exit codes: 10 connect refused, 20 got a
/// "permission denied" frame or EOF, 30 anything else.
fn child_probe(path: &Path) -> i32 {
    use std::os::unix::ffi::OsStrExt;
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    assert!(bytes.len() < addr.sun_path.len());
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // Prepared before fork: the child only makes raw syscalls.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe {
            if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                libc::_exit(40);
            }
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            let rc = libc::connect(
                fd,
                &addr as *const libc::sockaddr_un as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            );
            if rc != 0 {
                libc::_exit(10);
            }
            // Ask for a publish anyway.
            let req = b"\x00\x00\x00\x0d\x81\xa3cmd\xa7publish";
            libc::write(fd, req.as_ptr() as *const libc::c_void, req.len());
            let mut buf = [0u8; 512];
            let mut got = 0usize;
            loop {
                let n = libc::read(
                    fd,
                    buf.as_mut_ptr().add(got) as *mut libc::c_void,
                    buf.len() - got,
                );
                if n <= 0 {
                    break;
                }
                got += n as usize;
                if got == buf.len() {
                    break;
                }
            }
            let seen = &buf[..got];
            let denied = seen.windows(17).any(|w| w == b"permission denied");
            if got == 0 || denied {
                libc::_exit(20);
            }
            libc::_exit(30);
        }
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    libc::WEXITSTATUS(status)
}

#[test]
fn local_socket_refuses_non_root_peers() {
    let f = Fixture::start("local");
    let sock = f.dir.join("root/sock/brine-local.sock");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Let uid 65534 reach the directory.
    for d in [&f.dir, &f.dir.join("root"), &f.dir.join("root/sock")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let jobs = f.events("salt/job/");
    // By the socket's mode.
    assert_eq!(child_probe(&sock), 10);
    // By the peer's credentials, even when the mode would let it in.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(child_probe(&sock), 20);
    assert!(no_event(&jobs, Duration::from_millis(300)).is_none());
    // Root is served.
    let mut c = brine_master::local::LocalClient::connect(&f.dir.join("root/sock")).unwrap();
    c.subscribe("salt/").unwrap();
}

#[test]
fn auth_key_states_follow_salt() {
    let dir_probe = std::env::temp_dir().join(format!("brine-reqsec-keys-{}", std::process::id()));
    let f = Fixture::start_with(
        "keys",
        &format!(
            "autosign_file: {d}/autosign\nautoreject_file: {d}/autoreject\n",
            d = dir_probe.display()
        ),
    );
    // Salt puts root_dir in front of both paths.
    let opt = |name: &str| {
        let p = PathBuf::from(brine_master::config::opt_str(&f.master().opts, name).unwrap());
        assert!(p.starts_with(f.dir.join("root")), "{p:?}");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        p
    };
    std::fs::write(opt("autosign_file"), "# comment\nweb*\n").unwrap();
    std::fs::write(opt("autoreject_file"), "bad[0-9]+\n").unwrap();
    let ctx = zmq::Context::new();
    let auths = f.events("salt/auth");
    // autosign_file: accepted at once.
    let mut web = FakeMinion::new("web1");
    let r = web.auth(&f, &ctx);
    assert_eq!(r.get("enc"), Some(&k("pub")), "{r:?}");
    assert!(web.session.is_some());
    let ev = auths.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(ev.data.get("act"), Some(&k("accept")));
    // autoreject_file (a regex): rejected.
    let mut bad = FakeMinion::new("bad42");
    assert_eq!(bad.auth(&f, &ctx).get("ret"), Some(&Value::Bool(false)));
    assert!(f
        .keys()
        .pem_in(brine_master::keys::KeyState::Rejected, "bad42")
        .is_some());
    let ev = auths.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(ev.data.get("act"), Some(&k("reject")));
    // Another key for an accepted id: denied, the accepted key stays.
    let mut imposter = FakeMinion::new("web1");
    assert_eq!(
        imposter.auth(&f, &ctx).get("ret"),
        Some(&Value::Bool(false))
    );
    assert!(imposter.session.is_none());
    assert!(f
        .keys()
        .pem_in(brine_master::keys::KeyState::Denied, "web1")
        .is_some());
    let acc = f
        .keys()
        .pem_in(brine_master::keys::KeyState::Accepted, "web1")
        .unwrap();
    assert_eq!(acc.trim(), web.key.public_key().to_pem().unwrap().trim());
    // The replies of version 3 are signed by the master.
    let reply = f.request(&ctx, &imposter.auth_load()).unwrap();
    let (Some(Value::Bytes(load)), Some(Value::Bytes(sig))) = (reply.get("load"), reply.get("sig"))
    else {
        panic!("{reply:?}")
    };
    let master_pub =
        brine_core::wire::keys::PublicKey::read(&f.dir.join("root/pki/master.pub")).unwrap();
    assert!(master_pub.verify(load, sig, brine_core::wire::keys::SigAlgo::Pkcs1v15Sha1));
    // Invalid ids never touch the key store.
    let mut m = imposter;
    for id in ["../evil", "", "a/b", "a\0b"] {
        m.id = id.into();
        let reply = f.request(&ctx, &m.auth_load()).unwrap();
        match reply.get("load") {
            Some(Value::Bytes(b)) => {
                let inner = payload::loads(b).unwrap();
                assert_eq!(inner.get("ret"), Some(&Value::Bool(false)), "{id:?}");
            }
            // Salt answers a NUL in the id before _auth sees it.
            _ => assert_eq!(reply, k("bad load: id contains a null byte"), "{id:?}"),
        }
    }
    assert!(!f.dir.join("root/pki/evil").exists());
}
