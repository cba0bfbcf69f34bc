//! End-to-end test among Brine's own parts (issue 4, "What must show it
//! works" 1): one `brine-master` and three `brine-minion` processes on
//! loopback, driven with the `brine`, `brine-key` and `brine-run` CLIs as an
//! operator would drive Salt.
//!
//! Everything lives under one scratch directory (`$TMPDIR/brine-e2e-<pid>`):
//! the master's config dir (`master/master`: free loopback ports, its own
//! pki_dir, cachedir, sock_dir, log_file, file_roots and pillar_roots copied
//! from `tests/e2e/{states,pillar}`), one config dir per minion
//! (`m1/minion`...: own id, pki_dir, cachedir, sock_dir, log_file and grains
//! `roles` plus `scratch`, the directory its states write into).
//!
//! The scenario, each step printed as a `PASS`/`FAIL` line:
//! 1. the master starts and listens on its two ports;
//! 2. the three minions start; `brine-key -L` lists them under
//!    "Unaccepted Keys:"; `brine-key -A -y` accepts them;
//! 3. `brine '*' test.ping --out json` gets `true` from all three;
//! 4. grain (`-G`) and compound (`-C`) targets reach exactly the right ones;
//! 5. `brine '*' state.apply` applies `top.sls` (a salt:// Jinja template
//!    filled from grains and per-minion pillar, a static salt:// file on the
//!    web minions only); each minion's files are checked byte for byte, and
//!    `brine-run jobs.lookup_jid` returns what the CLI printed;
//! 6. a minion is killed (SIGKILL to its process group) while it runs a
//!    `cmd.run sleep` state and started again: the other two return, then
//!    `test.ping` reaches all three;
//! 7. the master is stopped while all three minions run that state and
//!    started again after they finished: their returns still reach the job
//!    cache, and `test.ping` reaches all three;
//! 8. every job published during the run has a return from each minion that
//!    was alive for it in the job cache (nothing lost across the restarts).
//!
//! A failed step that later steps depend on (master, keys, first ping)
//! stops the scenario. The last line is `e2e: N passed, M failed`; the
//! process exits non-zero when a step failed.
//!
//! The binaries are taken from the directory of this test binary's profile
//! (`target/<profile>/`; build them first: `cargo build -p brine-master -p
//! brine-minion --bins`). Environment: `BRINE_BIN_DIR` (another directory
//! holding them), `E2E_FLAVOR=salt` (run the same scenario against stock
//! Salt 3007.8 from `.salt-venv`: checks the test itself), `E2E_KEEP=1`
//! (keep the scratch directory). Every wait is bounded and every daemon runs
//! in its own process group, killed when the test ends (also on panic).

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The minions: id and `roles` grain.
const MINIONS: [(&str, &[&str]); 3] = [("m1", &["web", "db"]), ("m2", &["web"]), ("m3", &["db"])];
/// Pillar values of each minion (tests/e2e/pillar/mN.sls).
const COLORS: [(&str, &str, &str); 3] = [
    ("m1", "red", "web and db on m1"),
    ("m2", "green", "web only on m2"),
    ("m3", "blue", "db only on m3"),
];
/// Content of tests/e2e/states/files/index.html.
const INDEX_HTML: &str = "<html><body>served from salt://files/index.html</body></html>\n";

/// The programs under test.
struct Tools {
    flavor: &'static str,
    master: PathBuf,
    minion: PathBuf,
    cli: PathBuf,
    key: PathBuf,
    run: PathBuf,
}

fn find_tools(repo: &Path) -> Result<Tools, String> {
    let salt = std::env::var("E2E_FLAVOR").is_ok_and(|v| v == "salt");
    let (flavor, dir, prefix) = if salt {
        ("salt", repo.join(".salt-venv").join("bin"), "salt")
    } else {
        let dir = match std::env::var_os("BRINE_BIN_DIR") {
            Some(d) => PathBuf::from(d),
            None => {
                let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
                exe.parent()
                    .and_then(|p| p.parent())
                    .ok_or("cannot locate target/<profile> from the test binary")?
                    .to_path_buf()
            }
        };
        ("brine", dir, "brine")
    };
    let t = Tools {
        flavor,
        master: dir.join(format!("{prefix}-master")),
        minion: dir.join(format!("{prefix}-minion")),
        cli: dir.join(prefix),
        key: dir.join(format!("{prefix}-key")),
        run: dir.join(format!("{prefix}-run")),
    };
    let missing: Vec<String> = [&t.master, &t.minion, &t.cli, &t.key, &t.run]
        .iter()
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        let hint = if salt {
            "run scripts/test.sh, which creates .salt-venv"
        } else {
            "build them first: cargo build -p brine-master -p brine-minion --bins"
        };
        return Err(format!("missing {} ({hint})", missing.join(", ")));
    }
    Ok(t)
}

/// Warns when a source file is newer than a binary under test (the test
/// cannot rebuild them: cargo holds the build lock while it runs).
fn warn_if_stale(repo: &Path, tools: &Tools) {
    fn newest(dir: &Path, acc: &mut Option<std::time::SystemTime>, depth: usize) {
        let Ok(rd) = fs::read_dir(dir) else {
            return;
        };
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() && depth < 8 {
                newest(&p, acc, depth + 1);
            } else if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                match acc {
                    Some(a) if *a >= t => {}
                    _ => *acc = Some(t),
                }
            }
        }
    }
    let mut src = None;
    for d in ["core/src", "master/src", "minion/src"] {
        newest(&repo.join(d), &mut src, 0);
    }
    let Some(src) = src else {
        return;
    };
    for bin in [
        &tools.master,
        &tools.minion,
        &tools.cli,
        &tools.key,
        &tools.run,
    ] {
        let built = fs::metadata(bin).and_then(|m| m.modified()).ok();
        if built.is_some_and(|b| b < src) {
            println!(
                "e2e: WARNING: {} is older than the sources (cargo build -p brine-master -p brine-minion --bins)",
                bin.display()
            );
        }
    }
}

/// A daemon in its own process group; the whole group is killed on drop.
struct Daemon {
    name: String,
    child: Child,
    pgid: i32,
    reaped: bool,
}

impl Daemon {
    fn spawn(name: &str, program: &Path, conf_dir: &Path, log: &Path) -> Result<Daemon, String> {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(program)
            .arg("-c")
            .arg(conf_dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", program.display()))?;
        let pgid = child.id() as i32;
        Ok(Daemon {
            name: name.to_string(),
            child,
            pgid,
            reaped: false,
        })
    }

    fn alive(&mut self) -> bool {
        if self.reaped {
            return false;
        }
        match self.child.try_wait() {
            Ok(None) => true,
            _ => {
                self.reaped = true;
                false
            }
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's process group; no memory involved.
        unsafe {
            libc::kill(-self.pgid, sig);
        }
    }

    /// Sends `sig` to the group, waits up to `grace` for the leader, then
    /// SIGKILLs what is left of the group. Returns how long the leader took.
    fn stop(&mut self, sig: i32, grace: Duration) -> Duration {
        let t0 = Instant::now();
        self.signal(sig);
        while self.alive() && t0.elapsed() < grace {
            std::thread::sleep(Duration::from_millis(50));
        }
        let took = t0.elapsed();
        self.signal(libc::SIGKILL);
        if !self.reaped {
            let _ = self.child.wait();
            self.reaped = true;
        }
        // Children the group leader left behind are reaped by init; wait
        // until they are gone (a daemon started again may look for them).
        let t1 = Instant::now();
        while group_members(self.pgid) > 0 && t1.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(50));
        }
        took
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
        if !self.reaped {
            let _ = self.child.wait();
        }
    }
}

/// What a CLI run printed.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn brief(&self) -> String {
        let mut s = format!("exit {:?}", self.code);
        for (what, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let t = text.trim();
            if !t.is_empty() {
                let t: String = t.chars().take(400).collect();
                s.push_str(&format!("; {what}: {}", t.replace('\n', " | ")));
            }
        }
        s
    }
}

struct E2e {
    tools: Tools,
    dir: PathBuf,
    master_conf: PathBuf,
    ports: (u16, u16),
    master: Option<Daemon>,
    minions: BTreeMap<String, Daemon>,
    passed: usize,
    failed: usize,
    ncmd: usize,
    /// Jobs published during the run: jid, what, minions that must return.
    jobs: Vec<(String, String, BTreeSet<String>)>,
    /// Jobs whose jid could not be found (counted in the job cache step).
    lost_jids: Vec<String>,
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf();
    let tools = match find_tools(&repo) {
        Ok(t) => t,
        Err(e) => {
            println!("FAIL find binaries: {e}");
            println!("e2e: 0 passed, 1 failed");
            std::process::exit(1);
        }
    };
    if tools.flavor == "brine" {
        warn_if_stale(&repo, &tools);
    }
    let dir = std::env::temp_dir().join(format!("brine-e2e-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let t0 = Instant::now();
    let mut e2e = match E2e::new(tools, &repo, &dir) {
        Ok(e) => e,
        Err(e) => {
            println!("FAIL set up {}: {e}", dir.display());
            println!("e2e: 0 passed, 1 failed");
            let _ = fs::remove_dir_all(&dir);
            std::process::exit(1);
        }
    };
    println!(
        "e2e: flavor {}, master {}, scratch {}, ports publish {} ret {}",
        e2e.tools.flavor,
        e2e.tools.master.display(),
        dir.display(),
        e2e.ports.0,
        e2e.ports.1
    );
    if let Err(e) = e2e.scenario() {
        e2e.fail(
            "scenario stopped",
            &format!("{e}; the remaining steps did not run"),
        );
    }
    let (passed, failed) = (e2e.passed, e2e.failed);
    if failed > 0 {
        e2e.show_logs();
    }
    drop(e2e);
    if std::env::var("E2E_KEEP").is_ok_and(|v| v == "1") {
        println!("e2e: scratch kept in {}", dir.display());
    } else {
        let _ = fs::remove_dir_all(&dir);
    }
    println!("e2e: took {:.1}s", t0.elapsed().as_secs_f64());
    println!("e2e: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}

impl E2e {
    fn new(tools: Tools, repo: &Path, dir: &Path) -> Result<E2e, String> {
        let mkdir =
            |p: &Path| fs::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()));
        mkdir(dir)?;
        let srv = dir.join("srv");
        copy_tree(&repo.join("tests/e2e/states"), &srv.join("states"))?;
        copy_tree(&repo.join("tests/e2e/pillar"), &srv.join("pillar"))?;
        mkdir(&dir.join("cmds"))?;
        let ports = (free_port()?, free_port()?);
        let (publish, ret) = ports;
        let m = dir.join("master");
        mkdir(&m)?;
        let d = |p: &str| m.join(p).display().to_string();
        let master_cfg = format!(
            "interface: 127.0.0.1\npublish_port: {publish}\nret_port: {ret}\nuser: root\n\
             root_dir: {root}\npki_dir: {pki}\ncachedir: {cache}\nsock_dir: {sock}\n\
             log_file: {log}\npidfile: {pid}\nlog_level_logfile: debug\nworker_threads: 2\nauto_accept: False\n\
             keep_jobs: 24\nfile_roots:\n  base:\n    - {states}\npillar_roots:\n  base:\n    - {pillar}\n",
            root = m.display(),
            pki = d("pki"),
            cache = d("cache"),
            sock = d("sock"),
            log = d("master.log"),
            pid = d("master.pid"),
            states = srv.join("states").display(),
            pillar = srv.join("pillar").display(),
        );
        write(&m.join("master"), &master_cfg)?;
        for (id, roles) in MINIONS {
            let md = dir.join(id);
            mkdir(&md.join("scratch"))?;
            let d = |p: &str| md.join(p).display().to_string();
            let mut cfg = format!(
                "id: {id}\nmaster: 127.0.0.1\nmaster_port: {ret}\npublish_port: {publish}\nuser: root\n\
                 root_dir: {root}\npki_dir: {pki}\ncachedir: {cache}\nsock_dir: {sock}\n\
                 log_file: {log}\npidfile: {pid}\nlog_level_logfile: debug\nacceptance_wait_time: 1\n\
                 acceptance_wait_time_max: 2\nrandom_reauth_delay: 1\nauth_timeout: 10\n\
                 grains:\n  scratch: {scratch}\n  roles:\n",
                root = md.display(),
                pki = d("pki"),
                cache = d("cache"),
                sock = d("sock"),
                log = d("minion.log"),
                pid = d("minion.pid"),
                scratch = d("scratch"),
            );
            for r in roles {
                cfg.push_str(&format!("    - {r}\n"));
            }
            write(&md.join("minion"), &cfg)?;
        }
        Ok(E2e {
            tools,
            dir: dir.to_path_buf(),
            master_conf: m,
            ports,
            master: None,
            minions: BTreeMap::new(),
            passed: 0,
            failed: 0,
            ncmd: 0,
            jobs: Vec::new(),
            lost_jids: Vec::new(),
        })
    }

    fn pass(&mut self, step: &str, detail: &str) {
        self.passed += 1;
        println!("PASS {step} ({detail})");
    }

    fn fail(&mut self, step: &str, why: &str) {
        self.failed += 1;
        println!("FAIL {step}: {why}");
    }

    /// Prints the step's verdict; returns whether it passed.
    fn step(&mut self, step: &str, r: Result<String, String>) -> bool {
        match r {
            Ok(d) => {
                self.pass(step, &d);
                true
            }
            Err(e) => {
                self.fail(step, &e);
                false
            }
        }
    }

    /// A step later steps cannot do without: an error stops the scenario.
    fn critical(&mut self, step: &str, r: Result<String, String>) -> Result<(), String> {
        if self.step(step, r) {
            Ok(())
        } else {
            Err(format!("'{step}' failed"))
        }
    }

    fn all_ids() -> BTreeSet<String> {
        MINIONS.iter().map(|(id, _)| id.to_string()).collect()
    }

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn scenario(&mut self) -> Result<(), String> {
        let all = Self::all_ids();

        // 1. Master.
        let r = self.start_master();
        self.critical("master starts and listens", r)?;

        // 2. Minions and keys.
        for (id, _) in MINIONS {
            let md = self.dir.join(id);
            let d = Daemon::spawn(id, &self.tools.minion, &md, &md.join("daemon.out"))?;
            self.minions.insert(id.to_string(), d);
        }
        let r = self.wait_pending();
        self.critical("brine-key -L lists m1 m2 m3 under Unaccepted Keys", r)?;
        let r = self.accept_all();
        self.critical("brine-key -A -y accepts them", r)?;

        // 3. test.ping. A minion whose key is pending retries its sign-in
        // every acceptance_wait_time (at most acceptance_wait_time_max = 2 s)
        // and, as with Salt, misses publishes sent before it is signed in.
        std::thread::sleep(Duration::from_secs(3));
        let r = self.ping_all(&all, Duration::from_secs(60));
        self.critical("brine '*' test.ping: all three true", r)?;

        // 4. Targeting.
        for (step, args, want) in [
            (
                "grain target -G roles:web",
                vec!["-G", "roles:web"],
                vec!["m1", "m2"],
            ),
            (
                "grain target -G roles:db",
                vec!["-G", "roles:db"],
                vec!["m1", "m3"],
            ),
            (
                "compound -C 'G@roles:db and not m1'",
                vec!["-C", "G@roles:db and not m1"],
                vec!["m3"],
            ),
            (
                "compound -C 'm2 or G@roles:db'",
                vec!["-C", "m2 or G@roles:db"],
                vec!["m1", "m2", "m3"],
            ),
            (
                "compound -C 'G@roles:web and G@roles:db'",
                vec!["-C", "G@roles:web and G@roles:db"],
                vec!["m1"],
            ),
        ] {
            let r = self.target_ping(&args, &Self::ids(&want));
            self.step(step, r);
        }

        // 5. Highstate.
        let r = self.highstate();
        self.step(
            "brine '*' state.apply: salt:// files and per-minion pillar",
            r,
        );

        // 6. A minion killed mid-run.
        let r = self.kill_minion_mid_run();
        self.step("m2 killed mid-run and restarted; m1 m3 return", r);
        let r = self.ping_all(&all, Duration::from_secs(60));
        self.step("test.ping reaches all three after the minion restart", r);

        // 7. The master restarted while the minions work and wait.
        let r = self.restart_master_mid_run();
        self.step("master restarted mid-run: all three returns arrive", r);
        let r = self.ping_all(&all, Duration::from_secs(90));
        self.step("test.ping reaches all three after the master restart", r);
        let r = self.keys_accepted();
        self.step("brine-key -L after the restart: all accepted", r);

        // 8. Nothing lost.
        let r = self.check_job_cache();
        self.step("job cache: every job has a return from each live minion", r);
        Ok(())
    }

    fn start_master(&mut self) -> Result<String, String> {
        let t0 = Instant::now();
        let m = &self.master_conf;
        let d = Daemon::spawn("master", &self.tools.master, m, &m.join("daemon.out"))?;
        self.master = Some(d);
        let deadline = Duration::from_secs(40);
        loop {
            let alive = self.master.as_mut().is_some_and(|d| d.alive());
            if !alive {
                return Err("the master exited".into());
            }
            let up = |p: u16| {
                TcpStream::connect_timeout(&([127, 0, 0, 1], p).into(), Duration::from_millis(200))
                    .is_ok()
            };
            if up(self.ports.0) && up(self.ports.1) {
                return Ok(format!("{:.1}s", t0.elapsed().as_secs_f64()));
            }
            if t0.elapsed() > deadline {
                return Err(format!("ports not open after {}s", deadline.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs a program in its own process group with a time limit.
    fn exec(&mut self, program: &Path, args: &[&str], timeout: Duration) -> Outcome {
        self.ncmd += 1;
        let base = self.dir.join("cmds").join(format!("{:03}", self.ncmd));
        let _ = fs::write(
            base.with_extension("cmd"),
            format!("{} {}\n", program.display(), args.join(" ")),
        );
        let out_path = base.with_extension("out");
        let err_path = base.with_extension("err");
        let files = (fs::File::create(&out_path), fs::File::create(&err_path));
        let (Ok(out), Ok(err)) = files else {
            return Outcome {
                code: None,
                stdout: String::new(),
                stderr: format!("cannot create {}", out_path.display()),
            };
        };
        let t0 = Instant::now();
        let child = Command::new(program)
            .arg("-c")
            .arg(&self.master_conf)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                return Outcome {
                    code: None,
                    stdout: String::new(),
                    stderr: format!("spawn {}: {e}", program.display()),
                }
            }
        };
        let pgid = child.id() as i32;
        let mut timed_out = false;
        let code = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s.code(),
                Ok(None) if t0.elapsed() > timeout => {
                    // SAFETY: kill(2) on our own child's process group.
                    unsafe {
                        libc::kill(-pgid, libc::SIGKILL);
                    }
                    let _ = child.wait();
                    timed_out = true;
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break None,
            }
        };
        let read = |p: &Path| {
            fs::read(p)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let mut stderr = read(&err_path);
        if timed_out {
            stderr.push_str(&format!("\n(killed after {}s)", timeout.as_secs()));
        }
        Outcome {
            code,
            stdout: read(&out_path),
            stderr,
        }
    }

    fn cli(&mut self, args: &[&str], timeout: Duration) -> Outcome {
        let p = self.tools.cli.clone();
        self.exec(&p, args, timeout)
    }

    fn key(&mut self, args: &[&str]) -> Outcome {
        let p = self.tools.key.clone();
        self.exec(&p, args, Duration::from_secs(30))
    }

    fn runner(&mut self, args: &[&str]) -> Outcome {
        let p = self.tools.run.clone();
        self.exec(&p, args, Duration::from_secs(60))
    }

    /// `brine-key -L` parsed into its sections.
    fn key_list(&mut self) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
        let o = self.key(&["-L"]);
        if o.code != Some(0) {
            return Err(format!("brine-key -L: {}", o.brief()));
        }
        let mut sections: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in o.stdout.lines() {
            let l = line.trim();
            if l.is_empty() {
                continue;
            }
            if let Some(h) = l.strip_suffix(':') {
                if h.ends_with("Keys") {
                    current = Some(h.to_string());
                    sections.entry(h.to_string()).or_default();
                    continue;
                }
            }
            match &current {
                Some(c) => {
                    sections.entry(c.clone()).or_default().insert(l.to_string());
                }
                None => {
                    return Err(format!(
                        "brine-key -L: key before any heading: {}",
                        o.brief()
                    ))
                }
            }
        }
        for h in [
            "Accepted Keys",
            "Denied Keys",
            "Unaccepted Keys",
            "Rejected Keys",
        ] {
            if !sections.contains_key(h) {
                return Err(format!("brine-key -L: no '{h}:' heading: {}", o.brief()));
            }
        }
        Ok(sections)
    }

    fn wait_pending(&mut self) -> Result<String, String> {
        let t0 = Instant::now();
        let all = Self::all_ids();
        let mut last = String::new();
        while t0.elapsed() < Duration::from_secs(60) {
            self.check_minions_alive()?;
            match self.key_list() {
                Ok(s) => {
                    if s["Unaccepted Keys"] == all && s["Accepted Keys"].is_empty() {
                        return Ok(format!("after {:.1}s", t0.elapsed().as_secs_f64()));
                    }
                    last = format!("{s:?}");
                }
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Err(format!("not within 60s; last: {last}"))
    }

    fn check_minions_alive(&mut self) -> Result<(), String> {
        for d in self.minions.values_mut() {
            if !d.alive() {
                return Err(format!("minion {} exited", d.name));
            }
        }
        Ok(())
    }

    fn accept_all(&mut self) -> Result<String, String> {
        let o = self.key(&["-A", "-y"]);
        if o.code != Some(0) {
            return Err(format!("brine-key -A -y: {}", o.brief()));
        }
        let mut detail = self.keys_accepted()?;
        let printed = Self::all_ids()
            .iter()
            .all(|id| o.stdout.contains(id.as_str()));
        if !printed {
            return Err(format!("-A -y did not name every key: {}", o.brief()));
        }
        detail.push_str("; -A -y named m1 m2 m3");
        Ok(detail)
    }

    fn keys_accepted(&mut self) -> Result<String, String> {
        let s = self.key_list()?;
        let all = Self::all_ids();
        if s["Accepted Keys"] != all || !s["Unaccepted Keys"].is_empty() {
            return Err(format!("-L shows {s:?}"));
        }
        Ok("-L: m1 m2 m3 under Accepted Keys, none unaccepted".into())
    }

    /// Every jid in the job cache with its function (`jobs.list_jobs`).
    fn list_jobs(&mut self) -> Result<BTreeMap<String, String>, String> {
        let o = self.runner(&["jobs.list_jobs", "--out", "json"]);
        if o.code != Some(0) {
            return Err(format!("brine-run jobs.list_jobs: {}", o.brief()));
        }
        let docs = json_docs(&o.stdout);
        let mut jobs = BTreeMap::new();
        for (jid, job) in &docs {
            let fun = job
                .get("Function")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            jobs.insert(jid.clone(), fun);
        }
        if jobs.is_empty() && !o.stdout.trim().is_empty() && o.stdout.trim() != "{}" {
            return Err(format!("jobs.list_jobs printed no job map: {}", o.brief()));
        }
        Ok(jobs)
    }

    /// The newest job running `fun` that is not in `before`.
    fn new_jid(
        &mut self,
        before: &Result<BTreeMap<String, String>, String>,
        fun: &str,
    ) -> Result<String, String> {
        let before = before.as_ref().map_err(|e| e.clone())?;
        let after = self.list_jobs()?;
        after
            .iter()
            .filter(|(jid, f)| !before.contains_key(*jid) && (f.is_empty() || f.as_str() == fun))
            .map(|(jid, _)| jid.clone())
            .max()
            .ok_or_else(|| format!("no new {fun} job in jobs.list_jobs"))
    }

    /// Records a job that `expect` must return to (checked at the end).
    fn record(&mut self, jid: Result<String, String>, what: &str, expect: &BTreeSet<String>) {
        match jid {
            Ok(j) => self.jobs.push((j, what.to_string(), expect.clone())),
            Err(e) => self.lost_jids.push(format!("{what}: {e}")),
        }
    }

    fn lookup(&mut self, jid: &str) -> Result<Map<String, Value>, String> {
        let o = self.runner(&["jobs.lookup_jid", jid, "--out", "json"]);
        if o.code != Some(0) {
            return Err(format!("brine-run jobs.lookup_jid {jid}: {}", o.brief()));
        }
        Ok(json_docs(&o.stdout))
    }

    /// Polls `jobs.lookup_jid` until every minion of `want` has returned.
    fn wait_returns(
        &mut self,
        jid: &str,
        want: &BTreeSet<String>,
        limit: Duration,
    ) -> Result<Map<String, Value>, String> {
        let t0 = Instant::now();
        loop {
            let r = self.lookup(jid);
            if let Ok(m) = &r {
                if want.iter().all(|id| m.contains_key(id)) {
                    return r;
                }
            }
            if t0.elapsed() > limit {
                return match r {
                    Ok(m) => Err(format!(
                        "job {jid}: returns from {:?} after {}s, want {want:?}",
                        m.keys().collect::<Vec<_>>(),
                        limit.as_secs()
                    )),
                    Err(e) => Err(e),
                };
            }
            std::thread::sleep(Duration::from_millis(700));
        }
    }

    /// `brine '*' test.ping` until exactly `want` answer true (bounded).
    fn ping_all(&mut self, want: &BTreeSet<String>, limit: Duration) -> Result<String, String> {
        let t0 = Instant::now();
        let before = self.list_jobs();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let o = self.cli(
                &["*", "test.ping", "--out", "json", "-t", "5"],
                Duration::from_secs(40),
            );
            let docs = json_docs(&o.stdout);
            let got: BTreeSet<String> = docs
                .iter()
                .filter(|(_, v)| **v == Value::Bool(true))
                .map(|(k, _)| k.clone())
                .collect();
            if &got == want && o.code == Some(0) {
                let jid = self.new_jid(&before, "test.ping");
                self.record(jid, "test.ping", want);
                return Ok(format!(
                    "attempt {attempts}, {:.1}s",
                    t0.elapsed().as_secs_f64()
                ));
            }
            if t0.elapsed() > limit {
                return Err(format!(
                    "after {attempts} attempts in {}s: true from {got:?}; last: {}",
                    limit.as_secs(),
                    o.brief()
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn target_ping(&mut self, args: &[&str], want: &BTreeSet<String>) -> Result<String, String> {
        let before = self.list_jobs();
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["test.ping", "--out", "json", "-t", "15"]);
        let o = self.cli(&full, Duration::from_secs(45));
        let docs = json_docs(&o.stdout);
        let keys: BTreeSet<String> = docs.keys().cloned().collect();
        let truthy = docs.values().all(|v| *v == Value::Bool(true));
        if &keys != want || !truthy || o.code != Some(0) {
            return Err(format!("want {want:?} true, got {}", o.brief()));
        }
        let jid = self.new_jid(&before, "test.ping");
        self.record(jid, &format!("test.ping {}", args.join(" ")), want);
        Ok(format!("{:?}", keys))
    }

    fn highstate(&mut self) -> Result<String, String> {
        let all = Self::all_ids();
        let before = self.list_jobs();
        let o = self.cli(
            &["*", "state.apply", "--out", "json", "-t", "90"],
            Duration::from_secs(150),
        );
        let docs = json_docs(&o.stdout);
        let mut errors = Vec::new();
        if o.code != Some(0) {
            errors.push(format!("exit {:?}", o.code));
        }
        for (id, roles) in MINIONS {
            let want_states = if roles.contains(&"web") { 3 } else { 2 };
            match docs.get(id) {
                Some(ret) => {
                    if let Err(e) = states_ok(ret, want_states) {
                        errors.push(format!("{id}: {e}"));
                    }
                }
                None => errors.push(format!("{id}: no return")),
            }
            errors.extend(self.check_files(id, roles));
        }
        let jid = self.new_jid(&before, "state.apply");
        // The job cache holds what the CLI printed.
        match &jid {
            Ok(j) => match self.lookup(&j.clone()) {
                Ok(cached) => {
                    for id in &all {
                        if cached.get(id) != docs.get(id) {
                            errors.push(format!(
                                "jobs.lookup_jid {j}: {id}'s return differs from the CLI's: {}",
                                short(cached.get(id))
                            ));
                        }
                    }
                }
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(e.clone()),
        }
        self.record(jid.clone(), "state.apply", &all);
        if errors.is_empty() {
            Ok(format!(
                "8 states true, files checked on 3 minions, jobs.lookup_jid {} equals the CLI output",
                jid.unwrap_or_default()
            ))
        } else {
            Err(format!("{}; output: {}", errors.join("; "), o.brief()))
        }
    }

    /// Compares the files state.apply wrote into a minion's scratch dir.
    fn check_files(&self, id: &str, roles: &[&str]) -> Vec<String> {
        let scratch = self.dir.join(id).join("scratch");
        let (_, color, motd) = COLORS
            .iter()
            .find(|c| c.0 == id)
            .copied()
            .unwrap_or(("", "", ""));
        let app = format!(
            "# managed by the e2e test\nid = {id}\nroles = {}\ncolor = {color}\ngreeting = hello {id}\n",
            roles.join(",")
        );
        let mut want: Vec<(&str, Option<String>)> =
            vec![("app.conf", Some(app)), ("motd", Some(format!("{motd}\n")))];
        let web = roles.contains(&"web");
        want.push(("www/index.html", web.then(|| INDEX_HTML.to_string())));
        let mut errors = Vec::new();
        for (rel, content) in want {
            let p = scratch.join(rel);
            let got = fs::read_to_string(&p).ok();
            if got != content {
                errors.push(format!("{id}: {rel}: got {got:?}, want {content:?}"));
            }
        }
        errors
    }

    /// Processes named `sleep` in a daemon's process group.
    fn sleeping(&self, id: &str) -> bool {
        let Some(d) = self.minions.get(id) else {
            return false;
        };
        let Ok(rd) = fs::read_dir("/proc") else {
            return false;
        };
        rd.filter_map(|e| e.ok()).any(|e| {
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
                return false;
            };
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                return false;
            };
            let comm = &stat[open + 1..close];
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            // fields: state, ppid, pgrp; a zombie is already dead.
            let live = !matches!(fields.first(), Some(&"Z") | Some(&"X"));
            comm == "sleep"
                && live
                && fields.get(2).and_then(|p| p.parse::<i32>().ok()) == Some(d.pgid)
        })
    }

    /// Waits until every minion of `ids` runs the sleep of sleepy.sls.
    fn wait_sleeping(
        &self,
        ids: &BTreeSet<String>,
        want: bool,
        limit: Duration,
    ) -> Result<f64, String> {
        let t0 = Instant::now();
        loop {
            let now: BTreeSet<String> = ids
                .iter()
                .filter(|id| self.sleeping(id) == want)
                .cloned()
                .collect();
            if &now == ids {
                return Ok(t0.elapsed().as_secs_f64());
            }
            if t0.elapsed() > limit {
                let missing: Vec<_> = ids.difference(&now).collect();
                return Err(format!(
                    "{} within {}s: {missing:?}",
                    if want {
                        "sleep not started"
                    } else {
                        "sleep still running"
                    },
                    limit.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn clear_markers(&self) {
        for (id, _) in MINIONS {
            let _ = fs::remove_file(self.dir.join(id).join("scratch").join("sleepy.done"));
        }
    }

    fn marker(&self, id: &str) -> bool {
        self.dir
            .join(id)
            .join("scratch")
            .join("sleepy.done")
            .is_file()
    }

    /// Publishes sleepy.sls with --async; returns its jid.
    fn publish_sleepy(&mut self) -> Result<String, String> {
        let before = self.list_jobs();
        let o = self.cli(
            &["*", "state.apply", "sleepy", "--async"],
            Duration::from_secs(30),
        );
        if o.code != Some(0) {
            return Err(format!("--async: {}", o.brief()));
        }
        match printed_jid(&o.stdout) {
            Some(j) => Ok(j),
            None => self
                .new_jid(&before, "state.apply")
                .map_err(|e| format!("{e}; --async printed: {}", o.brief())),
        }
    }

    fn kill_minion_mid_run(&mut self) -> Result<String, String> {
        let all = Self::all_ids();
        let survivors = Self::ids(&["m1", "m3"]);
        self.clear_markers();
        let jid = self.publish_sleepy();
        let jid = match jid {
            Ok(j) => j,
            Err(e) => {
                self.lost_jids.push(format!("sleepy (minion kill): {e}"));
                return Err(e);
            }
        };
        self.record(
            Ok(jid.clone()),
            "state.apply sleepy (m2 killed)",
            &survivors,
        );
        let mut errors = Vec::new();
        let started = self.wait_sleeping(&all, true, Duration::from_secs(20));
        if let Err(e) = &started {
            errors.push(e.clone());
        }
        let killed = match self.minions.get_mut("m2") {
            Some(d) => {
                d.stop(libc::SIGKILL, Duration::from_secs(5));
                true
            }
            None => false,
        };
        let gone = self.wait_sleeping(&Self::ids(&["m2"]), false, Duration::from_secs(5));
        if !killed || gone.is_err() {
            errors.push("m2's process group did not die".into());
        }
        let md = self.dir.join("m2");
        let d = Daemon::spawn("m2", &self.tools.minion, &md, &md.join("daemon.out"))?;
        self.minions.insert("m2".into(), d);
        match self.wait_returns(&jid, &survivors, Duration::from_secs(60)) {
            Ok(m) => {
                for id in &survivors {
                    if let Some(v) = m.get(id) {
                        if let Err(e) = states_ok(v, 1) {
                            errors.push(format!("{id}: {e}"));
                        }
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        for id in &survivors {
            if !self.marker(id) {
                errors.push(format!("{id}: no sleepy.done"));
            }
        }
        if self.marker("m2") {
            errors.push("m2 finished the job it was killed in".into());
        }
        if errors.is_empty() {
            Ok(format!(
                "job {jid}: killed after the sleep started on all three ({:.1}s), m1 and m3 returned",
                started.unwrap_or_default()
            ))
        } else {
            Err(errors.join("; "))
        }
    }

    fn restart_master_mid_run(&mut self) -> Result<String, String> {
        let all = Self::all_ids();
        self.clear_markers();
        let jid = match self.publish_sleepy() {
            Ok(j) => j,
            Err(e) => {
                self.lost_jids.push(format!("sleepy (master restart): {e}"));
                return Err(e);
            }
        };
        self.record(
            Ok(jid.clone()),
            "state.apply sleepy (master restarted)",
            &all,
        );
        let mut errors = Vec::new();
        if let Err(e) = self.wait_sleeping(&all, true, Duration::from_secs(20)) {
            errors.push(e);
        }
        let took = match self.master.as_mut() {
            Some(d) => d.stop(libc::SIGTERM, Duration::from_secs(20)),
            None => Duration::ZERO,
        };
        self.master = None;
        let running_when_down: Vec<&String> = all.iter().filter(|id| self.sleeping(id)).collect();
        if running_when_down.len() != all.len() {
            errors.push(format!(
                "the job was still running only on {running_when_down:?} when the master was down (stop took {:.1}s)",
                took.as_secs_f64()
            ));
        }
        // The minions finish while the master is down and must keep their
        // returns until it is back.
        let finished = self.wait_sleeping(&all, false, Duration::from_secs(30));
        if let Err(e) = &finished {
            errors.push(e.clone());
        }
        let done: Vec<&String> = all.iter().filter(|id| !self.marker(id)).collect();
        if !done.is_empty() {
            errors.push(format!("no sleepy.done on {done:?}"));
        }
        std::thread::sleep(Duration::from_secs(2));
        let start = self.start_master();
        let restarted = match start {
            Ok(d) => d,
            Err(e) => return Err(format!("master restart: {e}")),
        };
        match self.wait_returns(&jid, &all, Duration::from_secs(90)) {
            Ok(m) => {
                for id in &all {
                    if let Some(v) = m.get(id) {
                        if let Err(e) = states_ok(v, 1) {
                            errors.push(format!("{id}: {e}"));
                        }
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        if errors.is_empty() {
            Ok(format!(
                "job {jid}: master stopped in {:.1}s, down while the minions finished, restarted in {restarted}",
                took.as_secs_f64()
            ))
        } else {
            Err(errors.join("; "))
        }
    }

    fn check_job_cache(&mut self) -> Result<String, String> {
        let mut errors: Vec<String> = self
            .lost_jids
            .iter()
            .map(|e| format!("no jid for {e}"))
            .collect();
        let mut returns = 0;
        let jobs = self.jobs.clone();
        for (jid, what, want) in &jobs {
            match self.lookup(jid) {
                Ok(m) => {
                    for id in want {
                        if m.contains_key(id) {
                            returns += 1;
                        } else {
                            errors.push(format!("{what} ({jid}): no return from {id}"));
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(format!("{} jobs, {returns} returns", jobs.len()))
        } else {
            Err(errors.join("; "))
        }
    }

    fn show_logs(&self) {
        let mut files = vec![
            self.master_conf.join("daemon.out"),
            self.master_conf.join("master.log"),
        ];
        for (id, _) in MINIONS {
            files.push(self.dir.join(id).join("daemon.out"));
            files.push(self.dir.join(id).join("minion.log"));
        }
        for f in files {
            if let Ok(s) = fs::read_to_string(&f) {
                let lines: Vec<&str> = s.lines().collect();
                let from = lines.len().saturating_sub(15);
                println!("---- {} (last {} lines)", f.display(), lines.len() - from);
                for l in &lines[from..] {
                    let l: String = l.chars().take(300).collect();
                    println!("  {l}");
                }
            }
        }
    }
}

/// A state.apply return: a map of `want` state results, all `result: true`.
fn states_ok(ret: &Value, want: usize) -> Result<(), String> {
    let Some(m) = ret.as_object() else {
        return Err(format!("not a state return: {}", short(Some(ret))));
    };
    let bad: Vec<&String> = m
        .iter()
        .filter(|(_, v)| v.get("result") != Some(&Value::Bool(true)))
        .map(|(k, _)| k)
        .collect();
    if !bad.is_empty() {
        return Err(format!("states not true: {bad:?} in {}", short(Some(ret))));
    }
    if m.len() != want {
        return Err(format!(
            "{} states, want {want}: {:?}",
            m.len(),
            m.keys().collect::<Vec<_>>()
        ));
    }
    Ok(())
}

/// Merges the JSON objects printed one after another (Salt's `--out json`
/// prints one document per minion); text between documents is skipped.
fn json_docs(s: &str) -> Map<String, Value> {
    let mut merged = Map::default();
    let mut pos = 0;
    while pos < s.len() {
        let Some(off) = s[pos..].find('{') else {
            break;
        };
        let start = pos + off;
        let mut it = serde_json::Deserializer::from_str(&s[start..]).into_iter::<Value>();
        match it.next() {
            Some(Ok(Value::Object(m))) => {
                merged.extend(m);
                pos = start + it.byte_offset().max(1);
            }
            _ => pos = start + 1,
        }
    }
    merged
}

/// The jid in `--async` output ("Executed command with job ID: <jid>").
fn printed_jid(s: &str) -> Option<String> {
    s.split(|c: char| !c.is_ascii_digit())
        .rfind(|t| t.len() >= 14)
        .map(str::to_string)
}

fn short(v: Option<&Value>) -> String {
    let s = v.map(|v| v.to_string()).unwrap_or_else(|| "(none)".into());
    if s.len() > 300 {
        let cut: String = s.chars().take(300).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// How many processes (zombies included) are in process group `pgid`.
fn group_members(pgid: i32) -> usize {
    let Ok(rd) = fs::read_dir("/proc") else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| {
            let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
                return false;
            };
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            fields.get(2).and_then(|p| p.parse::<i32>().ok()) == Some(pgid)
        })
        .count()
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn write(p: &Path, s: &str) -> Result<(), String> {
    fs::write(p, s).map_err(|e| format!("write {}: {e}", p.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("mkdir {}: {e}", to.display()))?;
    let rd = fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))?;
    for e in rd {
        let e = e.map_err(|e| e.to_string())?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
        }
    }
    Ok(())
}
