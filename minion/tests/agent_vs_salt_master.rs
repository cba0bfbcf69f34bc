//! brine-minion against a stock salt-master 3007.8 (from `.salt-venv`):
//! keys pending then accepted with salt-key, `salt '*' test.ping`, grain
//! targeting, `state.apply` of a salt:// file rendered with the master's
//! pillar, a master restart while the minions wait, `salt-key -d` (the
//! deleted minion stops getting jobs and falls back to pending) and
//! `salt-key -r` (the rejected minion gets no jobs and exits as Salt's
//! does). The idle resident memory of brine-minion is printed.
//!
//! Skips with a message when `.salt-venv/bin/salt-master` is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process in its own process group, killed with the group on drop.
struct Proc(Child);

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        Proc(cmd.spawn().expect("spawn"))
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn exited(&mut self) -> Option<i32> {
        self.0
            .try_wait()
            .ok()
            .flatten()
            .map(|s| s.code().unwrap_or(-1))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        unsafe {
            libc::kill(-(self.0.id() as i32), libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

struct Setup {
    dir: PathBuf,
    mdir: PathBuf,
    pub_port: u16,
    ret_port: u16,
}

impl Setup {
    fn new() -> Setup {
        let dir = std::env::temp_dir().join(format!("brine-agent-vs-salt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mdir = dir.join("master");
        for d in ["master/srv/salt", "master/srv/pillar", "out"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let (pub_port, ret_port) = (free_port(), free_port());
        let m = mdir.display();
        std::fs::write(
            mdir.join("master"),
            format!(
                "root_dir: {m}\npki_dir: {m}/pki\ncachedir: {m}/cache\nsock_dir: {m}/sock\n\
                 log_file: {m}/master.log\nlog_level_logfile: debug\ninterface: 127.0.0.1\n\
                 publish_port: {pub_port}\nret_port: {ret_port}\nuser: root\nworker_threads: 2\n\
                 file_roots:\n  base: [{m}/srv/salt]\npillar_roots:\n  base: [{m}/srv/pillar]\n"
            ),
        )
        .unwrap();
        let w = |p: &str, t: &str| std::fs::write(mdir.join(p), t).unwrap();
        w("srv/salt/top.sls", "base:\n  '*':\n    - app\n");
        w(
            "srv/salt/app.sls",
            &format!(
                "{}/out/{{{{ grains['id'] }}}}.txt:\n  file.managed:\n    - source: salt://app.txt\n    - template: jinja\n",
                dir.display()
            ),
        );
        w(
            "srv/salt/app.txt",
            "{{ pillar['greeting'] }} from {{ grains['id'] }}\n",
        );
        w("srv/pillar/top.sls", "base:\n  '*':\n    - data\n");
        w(
            "srv/pillar/data.sls",
            "greeting: hello-{{ grains['id'] }}\n",
        );
        Setup {
            dir,
            mdir,
            pub_port,
            ret_port,
        }
    }

    fn master(&self) -> Proc {
        let log = std::fs::File::create(self.mdir.join("stdout.txt")).unwrap();
        Proc::spawn(
            Command::new(venv().join("salt-master"))
                .arg("-c")
                .arg(&self.mdir)
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        )
    }

    fn minion(&self, id: &str, role: &str) -> Proc {
        self.minion_with(id, role, "")
    }

    fn minion_with(&self, id: &str, role: &str, extra: &str) -> Proc {
        let d = self.dir.join(id);
        std::fs::create_dir_all(&d).unwrap();
        let m = d.display();
        std::fs::write(
            d.join("minion"),
            format!(
                "id: {id}\nmaster: 127.0.0.1\nmaster_port: {}\npublish_port: {}\nroot_dir: {m}\n\
                 pki_dir: {m}/pki\ncachedir: {m}/cache\nlog_file: {m}/minion.log\n\
                 log_level_logfile: info\nacceptance_wait_time: 1\nauth_timeout: 3\nuser: root\n\
                 grains:\n  role: {role}\n{extra}",
                self.ret_port, self.pub_port
            ),
        )
        .unwrap();
        Proc::spawn(
            Command::new(env!("CARGO_BIN_EXE_brine-minion"))
                .arg("-c")
                .arg(&d)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
    }

    /// A stock salt-minion, for comparing returns.
    fn stock_minion(&self, id: &str) -> Proc {
        let d = self.dir.join(id);
        std::fs::create_dir_all(&d).unwrap();
        let m = d.display();
        std::fs::write(
            d.join("minion"),
            format!(
                "id: {id}\nmaster: 127.0.0.1\nmaster_port: {}\npublish_port: {}\nroot_dir: {m}\n\
                 pki_dir: {m}/pki\ncachedir: {m}/cache\nsock_dir: {m}/sock\n\
                 log_file: {m}/minion.log\nacceptance_wait_time: 1\nuser: root\n\
                 grains:\n  role: stock\n",
                self.ret_port, self.pub_port
            ),
        )
        .unwrap();
        Proc::spawn(
            Command::new(venv().join("salt-minion"))
                .arg("-c")
                .arg(&d)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
    }

    fn salt(&self, args: &[&str]) -> (serde_json::Value, String) {
        let out = Command::new(venv().join("salt"))
            .arg("-c")
            .arg(&self.mdir)
            .args(args)
            .args(["--out", "json"])
            .output()
            .expect("run salt");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // One JSON document per minion as they return (`--static` would
        // switch the CLI to batch mode); merged into one map.
        let mut merged = serde_json::Map::new();
        for doc in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>() {
            match doc {
                Ok(serde_json::Value::Object(m)) => merged.extend(m),
                _ => break,
            }
        }
        let v = serde_json::Value::Object(merged);
        (v, format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
    }

    fn salt_key(&self, args: &[&str]) -> String {
        let out = Command::new(venv().join("salt-key"))
            .arg("-c")
            .arg(&self.mdir)
            .args(args)
            .output()
            .expect("run salt-key");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `salt-key -y -a id`, checked (retried: a key that appeared a moment
    /// ago may not be listed yet).
    fn accept(&self, id: &str) {
        let mut out = String::new();
        for _ in 0..5 {
            out = self.salt_key(&["-y", "-a", id]);
            if self.key_dir(id) == Some("minions") {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("salt-key -a {id} did not accept it: {out}");
    }

    /// salt-key -L sections: (section, ids).
    fn keys(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for line in self.salt_key(&["-L"]).lines() {
            if line.ends_with(':') {
                out.push((line.trim_end_matches(':').to_string(), Vec::new()));
            } else if let Some(last) = out.last_mut() {
                last.1.push(line.trim().to_string());
            }
        }
        out
    }

    fn key_state(&self, id: &str) -> Option<String> {
        self.keys()
            .into_iter()
            .find(|(_, ids)| ids.iter().any(|i| i == id))
            .map(|(s, _)| s)
    }

    /// The key's directory in the master's pki_dir (cheap to poll; the
    /// assertions use salt-key).
    fn key_dir(&self, id: &str) -> Option<&'static str> {
        [
            "minions",
            "minions_pre",
            "minions_rejected",
            "minions_denied",
        ]
        .into_iter()
        .find(|d| self.mdir.join("pki").join(d).join(id).exists())
    }

    fn minion_log(&self, id: &str) -> String {
        std::fs::read_to_string(self.dir.join(id).join("minion.log")).unwrap_or_default()
    }
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("timed out waiting for {what}");
}

fn ping_ids(s: &Setup, tgt: &[&str]) -> Vec<String> {
    let mut args = tgt.to_vec();
    args.extend(["test.ping", "-t", "8"]);
    let (v, _) = s.salt(&args);
    let mut ids: Vec<String> = v
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, r)| **r == serde_json::Value::Bool(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

#[test]
fn brine_minion_against_stock_salt_master() {
    if !venv().join("salt-master").exists() {
        eprintln!(
            "SKIP: {} is missing (scripts/test.sh installs Salt)",
            venv().display()
        );
        return;
    }
    let t0 = Instant::now();
    let step = |n: &str| println!("[{:>6.1}s] {n}", t0.elapsed().as_secs_f64());
    let s = Setup::new();
    let mut master = s.master();
    let mut db = s.minion("db1", "db");
    // Pinned to a fingerprint that is not the master's.
    let bad_finger = format!("master_finger: '{}'\n", ["ab"; 32].join(":"));
    let mut fp = s.minion_with("fp1", "web", &bad_finger);
    // A stock salt-minion next to them, whose returns are the reference.
    let stock = s.stock_minion("salt1");
    wait_for("the master's key", 30, || {
        std::fs::read_to_string(s.mdir.join("pki/master.pub"))
            .is_ok_and(|t| t.contains("END PUBLIC KEY"))
    });
    // web1 is pinned to the master's fingerprint as `salt-key -F master`
    // prints it (and Brine computes the same).
    let listing = s.salt_key(&["-F", "master"]);
    let finger = listing
        .lines()
        .find_map(|l| l.strip_prefix("master.pub:"))
        .map(|f| f.trim().to_string())
        .unwrap_or_else(|| panic!("no master.pub finger in {listing}"));
    let pub_text = std::fs::read_to_string(s.mdir.join("pki/master.pub")).unwrap();
    assert_eq!(brine_core::wire::keys::pem_finger(&pub_text), finger);
    let web = s.minion_with(
        "web1",
        "web",
        &format!("mine_functions:\n  test.ping: []\nmaster_finger: '{finger}'\n"),
    );

    step("1.");
    // 1. Keys pending, then accepted with salt-key -a.
    wait_for("both keys pending", 40, || {
        s.key_dir("web1") == Some("minions_pre") && s.key_dir("db1") == Some("minions_pre")
    });
    assert_eq!(s.key_state("web1").as_deref(), Some("Unaccepted Keys"));
    assert_eq!(s.key_state("db1").as_deref(), Some("Unaccepted Keys"));
    s.accept("web1");
    s.accept("db1");
    wait_for("fp1 pending", 30, || {
        s.key_dir("fp1") == Some("minions_pre")
    });
    s.accept("fp1");
    wait_for("salt1 pending", 40, || {
        s.key_dir("salt1") == Some("minions_pre")
    });
    s.accept("salt1");
    assert_eq!(s.key_state("web1").as_deref(), Some("Accepted Keys"));

    step("2.");
    // 2. test.ping from both once they have signed in.
    wait_for("both minions answer test.ping", 40, || {
        ping_ids(&s, &["-L", "web1,db1"]) == ["db1", "web1"]
    });
    // fp1 refuses the master whose key does not match master_finger
    // (Salt exits with code 42).
    wait_for("fp1 to exit on the fingerprint mismatch", 20, || {
        fp.exited().is_some()
    });
    assert_eq!(fp.exited(), Some(42));
    assert!(s.minion_log("fp1").contains("master_finger"));
    s.salt_key(&["-y", "-d", "fp1"]);
    let (v, raw) = s.salt(&["-L", "web1,db1", "test.ping", "-t", "8"]);
    assert_eq!(
        v,
        serde_json::json!({"web1": true, "db1": true}),
        "salt test.ping: {raw}"
    );
    // Several functions in one job, as Salt's _thread_multi_return.
    let (v, raw) = s.salt(&["web1", "test.echo,test.ping", "hi,", "-t", "8"]);
    assert_eq!(
        v,
        serde_json::json!({"web1": {"test.echo": "hi", "test.ping": true}}),
        "{raw}"
    );

    step("3.");
    // 3. Grain and compound targeting; the minion matches them itself too.
    assert_eq!(ping_ids(&s, &["-G", "role:web"]), ["web1"]);
    assert_eq!(ping_ids(&s, &["-C", "G@role:db or L@nobody"]), ["db1"]);
    assert_eq!(ping_ids(&s, &["-G", "role:nothing"]), Vec::<String>::new());
    assert_eq!(ping_ids(&s, &["-I", "greeting:hello-db1"]), ["db1"]);

    // A job longer than the CLI's timeout: salt asks saltutil.find_job,
    // which reports it running, and keeps waiting for the return.
    let t_job = Instant::now();
    let (v, raw) = s.salt(&["web1", "cmd.shell", "sleep 4; echo done", "-t", "1"]);
    assert_eq!(v, serde_json::json!({"web1": "done"}), "{raw}");
    assert!(t_job.elapsed() >= Duration::from_secs(4));

    // Mine: web1 pushed test.ping at start; db1 reads it from the master.
    let (v, raw) = s.salt(&["db1", "mine.get", "web1", "test.ping", "-t", "8"]);
    assert_eq!(v, serde_json::json!({"db1": {"web1": true}}), "{raw}");

    step("4.");
    // 4. state.apply: salt:// file rendered with the master's pillar.
    wait_for("salt1 answers", 40, || {
        ping_ids(&s, &["salt1"]) == ["salt1"]
    });
    let (v, raw) = s.salt(&["*", "state.apply", "-t", "40"]);
    let path_of = |id: &str| s.dir.join("out").join(format!("{id}.txt"));
    let state_of = |id: &str| {
        let p = path_of(id);
        v[id][format!("file_|-{0}_|-{0}_|-managed", p.display())].clone()
    };
    let reference = state_of("salt1");
    assert_eq!(reference["result"], serde_json::json!(true), "{raw}");
    let mut ref_keys: Vec<&String> = reference.as_object().unwrap().keys().collect();
    ref_keys.sort();
    for id in ["web1", "db1"] {
        let path = path_of(id);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{raw}"));
        assert_eq!(text, format!("hello-{id} from {id}\n"));
        let st = state_of(id);
        let mut keys: Vec<&String> = st
            .as_object()
            .unwrap_or_else(|| panic!("{raw}"))
            .keys()
            .collect();
        keys.sort();
        assert_eq!(keys, ref_keys, "{raw}");
        for k in ["result", "changes", "__sls__", "__run_num__"] {
            assert_eq!(st[k], reference[k], "{k}: {raw}");
        }
        assert_eq!(
            st["comment"].as_str().map(|c| c.replace(id, "salt1")),
            reference["comment"].as_str().map(String::from)
        );
        assert_eq!(st["__id__"], path.display().to_string());
    }
    // For comparison: the stock minion's processes, after the same job.
    let stock_rss: u64 = std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    let stat =
                        std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                    let ppid = stat
                        .rsplit(')')
                        .next()
                        .and_then(|r| r.split_whitespace().nth(1));
                    *pid == stock.pid() || ppid == Some(&stock.pid().to_string())
                })
                .map(|pid| rss_kib(pid).0)
                .sum()
        })
        .unwrap_or(0);
    println!("stock salt-minion RSS (all its processes): {stock_rss} KiB");
    // The stock minion is done: out of the way of the '*' targets below.
    drop(stock);
    s.salt_key(&["-y", "-d", "salt1"]);
    let cached = s.dir.join("web1/cache/files/base/app.txt");
    assert!(cached.exists(), "{} not cached", cached.display());
    // A second run is a no-op (cached files re-used when the hash matches).
    let (v, raw) = s.salt(&["web1", "state.apply", "-t", "40"]);
    let st = v["web1"]
        .as_object()
        .and_then(|m| m.values().next())
        .cloned();
    let st = st.unwrap_or_else(|| panic!("{raw}"));
    assert_eq!(st["changes"], serde_json::json!({}), "{raw}");
    assert_eq!(st["result"], serde_json::json!(true));

    step("5.");
    // 5. Master restart while the minions wait: they sign in again.
    drop(master);
    std::thread::sleep(Duration::from_secs(1));
    master = s.master();
    wait_for("both minions answer after the master restart", 50, || {
        ping_ids(&s, &["*"]) == ["db1", "web1"]
    });

    step("Idle memory");
    // Idle memory, after jobs ran.
    std::thread::sleep(Duration::from_secs(2));
    let (rss, anon) = rss_kib(web.pid());
    println!("brine-minion idle RSS: {rss} KiB ({anon} KiB anonymous), after jobs ran");
    assert!(rss < 10 * 1024, "idle RSS {rss} KiB is not under 10 MiB");

    step("6.");
    // 6. salt-key -d: the deleted minion gets no more jobs; the publish
    // it can no longer decrypt makes it sign in again, and it is pending.
    s.salt_key(&["-y", "-d", "db1"]);
    assert_eq!(ping_ids(&s, &["*"]), ["web1"]);
    wait_for("db1 pending again", 30, || {
        s.key_dir("db1") == Some("minions_pre")
    });
    assert_eq!(s.key_state("db1").as_deref(), Some("Unaccepted Keys"));
    assert_eq!(ping_ids(&s, &["*"]), ["web1"]);

    step("7.");
    // 7. salt-key -r: a rejected key gets no jobs; the minion exits as a
    // stock salt-minion does (after Salt's 10-20 s pause).
    s.salt_key(&["-y", "-r", "db1"]);
    assert_eq!(s.key_state("db1").as_deref(), Some("Rejected Keys"));
    assert_eq!(ping_ids(&s, &["*"]), ["web1"]);
    wait_for("db1 told it is rejected", 20, || {
        s.minion_log("db1")
            .contains("rejected this minion's public key")
    });
    assert_eq!(db.exited(), None, "still in Salt's pause before exiting");
    let (v, _) = s.salt(&["db1", "test.ping", "-t", "3"]);
    assert!(v.get("db1").is_none_or(|r| *r != serde_json::json!(true)));

    step("done");
    drop(master);
    drop(web);
    drop(db);
    drop(fp);
    let _ = std::fs::remove_dir_all(&s.dir);
}
