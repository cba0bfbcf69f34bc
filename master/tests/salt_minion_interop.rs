//! A STOCK salt-minion 3007.8 (from .salt-venv) against brine-master:
//! its key lands in pending, is accepted, it authenticates, receives jobs
//! published through the local socket and returns their results; a deleted
//! or rejected key rotates the AES session so the minion stops receiving,
//! and a re-accepted minion comes back.
//!
//! Skipped (with a message) when .salt-venv/bin/salt-minion is missing.

use brine_core::value::Value;
use brine_master::keys::{drop_rotate_marker, KeyState, KeyStore};
use brine_master::local::{LocalClient, PublishRequest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn venv_bin(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.salt-venv/bin")
        .join(name);
    p.is_file().then_some(p)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process group, killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.0.id() as i32;
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command) -> Proc {
    use std::os::unix::process::CommandExt;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn");
    Proc(child)
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

struct Master {
    dir: PathBuf,
    _proc: Proc,
    ret_port: u16,
    pub_port: u16,
}

impl Master {
    fn start(dir: &Path) -> Master {
        Master::start_with(dir, "")
    }

    fn start_with(dir: &Path, extra: &str) -> Master {
        let ret_port = free_port();
        let pub_port = free_port();
        let conf = dir.join("master-conf");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(dir.join("srv/salt")).unwrap();
        std::fs::create_dir_all(dir.join("srv/pillar")).unwrap();
        std::fs::write(
            conf.join("master"),
            format!(
                "root_dir: {d}/mroot\npki_dir: {d}/mroot/pki\ncachedir: {d}/mroot/cache\n\
                 sock_dir: {d}/mroot/sock\nlog_file: {d}/mroot/master.log\n\
                 log_level_logfile: debug\ninterface: 127.0.0.1\npublish_port: {pub_port}\n\
                 ret_port: {ret_port}\nworker_threads: 2\n{aa}\
                 file_roots: {{base: [{d}/srv/salt]}}\npillar_roots: {{base: [{d}/srv/pillar]}}\n\
                 {extra}",
                d = dir.display(),
                aa = if extra.contains("auto_accept") {
                    ""
                } else {
                    "auto_accept: False\n"
                },
            ),
        )
        .unwrap();
        let proc = spawn(Command::new(env!("CARGO_BIN_EXE_brine-master")).args([
            "-c",
            conf.to_str().unwrap(),
            "-l",
            "quiet",
        ]));
        let sock = dir.join("mroot/sock/brine-local.sock");
        wait_for("the master's local socket", Duration::from_secs(60), || {
            sock.exists()
        });
        Master {
            dir: dir.to_path_buf(),
            _proc: proc,
            ret_port,
            pub_port,
        }
    }

    fn keys(&self) -> KeyStore {
        KeyStore::new(&self.dir.join("mroot/pki")).unwrap()
    }

    fn cachedir(&self) -> PathBuf {
        self.dir.join("mroot/cache")
    }

    fn client(&self) -> LocalClient {
        let mut c = LocalClient::connect(&self.dir.join("mroot/sock")).unwrap();
        c.subscribe("salt/").unwrap();
        c
    }

    /// SIGTERM the master; its exit status once it stopped.
    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let pid = self._proc.0.id() as i32;
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(st)) = self._proc.0.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mroot/master.log")).unwrap_or_default()
    }
}

fn start_minion(dir: &Path, m: &Master, id: &str) -> Proc {
    start_minion_with(dir, m, id, "")
}

fn start_minion_with(dir: &Path, m: &Master, id: &str, extra: &str) -> Proc {
    let conf = dir.join(format!("{id}-conf"));
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("minion"),
        format!(
            "id: {id}\nroot_dir: {d}/{id}root\npki_dir: {d}/{id}root/pki\n\
             cachedir: {d}/{id}root/cache\nsock_dir: {d}/{id}root/sock\n\
             log_file: {d}/{id}root/minion.log\nlog_level_logfile: debug\n\
             master: 127.0.0.1\nmaster_port: {r}\npublish_port: {p}\nuser: root\n\
             acceptance_wait_time: 1\nacceptance_wait_time_max: 1\nrandom_reauth_delay: 0\n\
             auth_timeout: 5\nmultiprocessing: False\n{extra}",
            d = dir.display(),
            r = m.ret_port,
            p = m.pub_port,
        ),
    )
    .unwrap();
    spawn(Command::new(venv_bin("salt-minion").unwrap()).args([
        "-c",
        conf.to_str().unwrap(),
        "-l",
        "quiet",
    ]))
}

fn ping_req(tgt: &str, fun: &str, arg: Vec<Value>) -> PublishRequest {
    PublishRequest {
        tgt: Value::from(tgt),
        tgt_type: "glob".into(),
        fun: fun.into(),
        arg,
        kwarg: Default::default(),
        ret: String::new(),
        timeout: 10,
        jid: None,
        user: "root".into(),
    }
}

/// Publish and collect returns (id -> return) until every expected minion
/// answered or `wait` passed.
fn run_job(
    c: &mut LocalClient,
    req: &PublishRequest,
    wait: Duration,
) -> (Vec<String>, BTreeMap<String, Value>) {
    let reply = c.publish(req).unwrap();
    let mut rets = BTreeMap::new();
    if reply.jid.is_empty() {
        return (reply.minions, rets);
    }
    let prefix = format!("salt/job/{}/ret/", reply.jid);
    let t = Instant::now();
    while t.elapsed() < wait && rets.len() < reply.minions.len() {
        if let Some(ev) = c.next_event(Duration::from_millis(300)).unwrap() {
            if let Some(id) = ev.tag.strip_prefix(&prefix) {
                let r = ev.data.get("return").cloned().unwrap_or(Value::Null);
                rets.insert(id.to_string(), r);
            }
        }
    }
    (reply.minions, rets)
}

/// Ping until `id` answers (its subscription may not be up yet).
fn ping_until(c: &mut LocalClient, tgt: &str, id: &str, limit: Duration) {
    let t = Instant::now();
    while t.elapsed() < limit {
        let (_, rets) = run_job(
            c,
            &ping_req(tgt, "test.ping", vec![]),
            Duration::from_secs(4),
        );
        if rets.get(id) == Some(&Value::Bool(true)) {
            return;
        }
    }
    panic!("{id} never answered test.ping");
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brine-interop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn stock_minion_authenticates_and_runs_jobs() {
    if venv_bin("salt-minion").is_none() {
        eprintln!("SKIP: .salt-venv/bin/salt-minion is missing");
        return;
    }
    let dir = tmpdir("jobs");
    let mut m = Master::start(&dir);
    let mut c = m.client();
    let _minion = start_minion(&dir, &m, "m1");
    let keys = m.keys();
    wait_for("m1's key in pending", Duration::from_secs(30), || {
        keys.state("m1").map(|s| s.0) == Some(KeyState::Pending)
    });
    // Pending: no job goes to it.
    let (minions, _) = run_job(&mut c, &ping_req("*", "test.ping", vec![]), Duration::ZERO);
    assert!(minions.is_empty(), "{minions:?}");
    assert!(keys.accept("m1").unwrap());
    ping_until(&mut c, "*", "m1", Duration::from_secs(40));
    let (minions, rets) = run_job(
        &mut c,
        &ping_req("m1", "test.echo", vec![Value::from("hello brine")]),
        Duration::from_secs(15),
    );
    assert_eq!(minions, vec!["m1".to_string()]);
    assert_eq!(rets.get("m1"), Some(&Value::from("hello brine")));
    let (_, rets) = run_job(
        &mut c,
        &ping_req("m*", "grains.item", vec![Value::from("id")]),
        Duration::from_secs(15),
    );
    assert_eq!(
        rets.get("m1").and_then(|r| r.get("id")),
        Some(&Value::from("m1")),
        "{rets:?}"
    );
    // Targeting on the master with the grains the minion reported.
    for (tgt, tgt_type, want) in [
        ("id:m1", "grain", true),
        ("id:nope", "grain", false),
        ("G@id:m1 and m*", "compound", true),
        ("G@id:m1 and not m1", "compound", false),
        ("m1,m2", "list", true),
        ("^m\\d$", "pcre", true),
    ] {
        let mut req = ping_req(tgt, "test.ping", vec![]);
        req.tgt_type = tgt_type.into();
        let (minions, rets) = run_job(&mut c, &req, Duration::from_secs(15));
        let expect: Vec<String> = if want { vec!["m1".into()] } else { vec![] };
        assert_eq!(minions, expect, "{tgt} ({tgt_type})");
        if want {
            assert_eq!(
                rets.get("m1"),
                Some(&Value::Bool(true)),
                "{tgt} ({tgt_type})"
            );
        }
    }
    // The job cache has the return.
    let jobs = brine_master::jobs::JobCache::new(&m.cachedir(), 24);
    assert!(!jobs.list_jobs().is_empty());
    // Not matching: nothing sent.
    let (minions, _) = run_job(
        &mut c,
        &ping_req("nomatch*", "test.ping", vec![]),
        Duration::ZERO,
    );
    assert!(minions.is_empty());
    assert!(
        m.log().contains("Authentication accepted from m1"),
        "{}",
        m.log()
    );
    // A highstate served by brine-master: top file, SLS and a salt://
    // template from its file server, the minion's pillar compiled by it.
    let out = dir.join("out");
    let srv = dir.join("srv");
    std::fs::create_dir_all(srv.join("salt/files")).unwrap();
    std::fs::write(srv.join("salt/top.sls"), "base:\n  'm1':\n    - web\n").unwrap();
    std::fs::write(
        srv.join("salt/web.sls"),
        "{{ pillar['out'] }}:\n  file.directory:\n    - makedirs: True\n\n\
         {{ pillar['out'] }}/motd:\n  file.managed:\n    - source: salt://files/motd.jinja\n\
         \x20   - template: jinja\n    - require:\n      - file: {{ pillar['out'] }}\n",
    )
    .unwrap();
    std::fs::write(
        srv.join("salt/files/motd.jinja"),
        "hello {{ grains['id'] }} {{ pillar['greeting'] }}\n",
    )
    .unwrap();
    std::fs::write(srv.join("pillar/top.sls"), "base:\n  'm1':\n    - m1\n").unwrap();
    std::fs::write(
        srv.join("pillar/m1.sls"),
        format!("out: {}\ngreeting: from-brine-pillar\n", out.display()),
    )
    .unwrap();
    let mut req = ping_req("m1", "state.highstate", vec![]);
    req.timeout = 60;
    let (_, rets) = run_job(&mut c, &req, Duration::from_secs(90));
    let ret = rets.get("m1").expect("m1 returned its highstate");
    let states = ret.as_map().unwrap_or_else(|| panic!("highstate: {ret:?}"));
    assert_eq!(states.len(), 2, "{ret:?}");
    for (tag, st) in states {
        assert_eq!(
            st.get("result"),
            Some(&Value::Bool(true)),
            "{tag:?}: {st:?}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.join("motd")).unwrap(),
        "hello m1 from-brine-pillar\n"
    );
    // SIGTERM: a clean exit, the local socket removed.
    let st = m.terminate().expect("the master stops on SIGTERM");
    assert!(st.success(), "{st:?}");
    assert!(!dir.join("mroot/sock/brine-local.sock").exists());
    if std::env::var_os("BRINE_KEEP_TEST_DIRS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn deleted_or_rejected_minion_stops_receiving() {
    if venv_bin("salt-minion").is_none() {
        eprintln!("SKIP: .salt-venv/bin/salt-minion is missing");
        return;
    }
    let dir = tmpdir("rotate");
    let m = Master::start(&dir);
    let mut c = m.client();
    let _m1 = start_minion(&dir, &m, "r1");
    let _m2 = start_minion(&dir, &m, "r2");
    let keys = m.keys();
    wait_for("both keys pending", Duration::from_secs(30), || {
        keys.pem_in(KeyState::Pending, "r1").is_some()
            && keys.pem_in(KeyState::Pending, "r2").is_some()
    });
    keys.accept("r1").unwrap();
    keys.accept("r2").unwrap();
    ping_until(&mut c, "r1", "r1", Duration::from_secs(40));
    ping_until(&mut c, "r2", "r2", Duration::from_secs(20));

    // Delete r1's key: the AES key rotates, r1 can no longer read.
    keys.delete("r1").unwrap();
    drop_rotate_marker(&m.cachedir());
    wait_for("the rotate marker taken", Duration::from_secs(10), || {
        !m.cachedir().join(".dfn").exists()
    });
    let (minions, rets) = run_job(
        &mut c,
        &ping_req("*", "test.ping", vec![]),
        Duration::from_secs(8),
    );
    assert_eq!(minions, vec!["r2".to_string()]);
    assert_eq!(rets.get("r2"), Some(&Value::Bool(true)));
    // r1 got the broadcast, failed to decrypt it, re-authenticated and is
    // now pending: no return from it.
    assert!(!rets.contains_key("r1"), "{rets:?}");
    wait_for("r1 back in pending", Duration::from_secs(20), || {
        keys.pem_in(KeyState::Pending, "r1").is_some()
    });
    let (_, rets) = run_job(
        &mut c,
        &ping_req("*", "test.ping", vec![]),
        Duration::from_secs(5),
    );
    assert!(!rets.contains_key("r1"), "{rets:?}");
    // Re-accepted, it authenticates again and answers.
    keys.accept("r1").unwrap();
    ping_until(&mut c, "r1", "r1", Duration::from_secs(30));

    // Reject r1: it may not read later publications either.
    let mut auth_watch = LocalClient::connect(&dir.join("mroot/sock")).unwrap();
    auth_watch.subscribe("salt/auth").unwrap();
    keys.move_key("r1", &[KeyState::Accepted], KeyState::Rejected)
        .unwrap();
    drop_rotate_marker(&m.cachedir());
    wait_for("the rotate marker taken", Duration::from_secs(10), || {
        !m.cachedir().join(".dfn").exists()
    });
    let (minions, rets) = run_job(
        &mut c,
        &ping_req("*", "test.ping", vec![]),
        Duration::from_secs(8),
    );
    assert_eq!(minions, vec!["r2".to_string()]);
    assert_eq!(rets.get("r2"), Some(&Value::Bool(true)));
    assert!(!rets.contains_key("r1"), "{rets:?}");
    // Its next auth is refused (salt/auth with result False).
    let t = Instant::now();
    let mut refused = false;
    while t.elapsed() < Duration::from_secs(15) && !refused {
        if let Some(ev) = auth_watch.next_event(Duration::from_millis(300)).unwrap() {
            refused = ev.tag == "salt/auth"
                && ev.data.get("id") == Some(&Value::from("r1"))
                && ev.data.get("result") == Some(&Value::Bool(false));
        }
    }
    assert!(refused, "no refused salt/auth event for the rejected r1");
    if std::env::var_os("BRINE_KEEP_TEST_DIRS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn zmq_filtering_and_signed_publications() {
    if venv_bin("salt-minion").is_none() {
        eprintln!("SKIP: .salt-venv/bin/salt-minion is missing");
        return;
    }
    let dir = tmpdir("filter");
    let m = Master::start_with(&dir, "zmq_filtering: True\nauto_accept: True\n");
    let mut c = m.client();
    // The minion checks the master's signature on every publication and
    // subscribes to its own topic and "broadcast" only.
    let _f1 = start_minion_with(
        &dir,
        &m,
        "f1",
        "zmq_filtering: True\nsign_pub_messages: True\n",
    );
    let keys = m.keys();
    wait_for("f1 auto-accepted", Duration::from_secs(30), || {
        keys.pem_in(KeyState::Accepted, "f1").is_some()
    });
    ping_until(&mut c, "f1", "f1", Duration::from_secs(40));
    // A broadcast target (grain) reaches it too.
    let mut req = ping_req("id:f1", "test.echo", vec![Value::from("via broadcast")]);
    req.tgt_type = "grain".into();
    let (_, rets) = run_job(&mut c, &req, Duration::from_secs(15));
    assert_eq!(rets.get("f1"), Some(&Value::from("via broadcast")));
    if std::env::var_os("BRINE_KEEP_TEST_DIRS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
