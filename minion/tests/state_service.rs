//! `service` states and execution functions against real Salt 3007.8 on a
//! real sysvinit service. This machine runs without systemd, so Salt (and
//! Brine) pick the `debian_service` provider; as systemctl is installed,
//! Salt also loads systemd_service in "offline" mode, whose
//! `service.offline` makes `service.running`/`service.dead` report
//! "Running in OFFLINE mode" and do nothing (the steps check the process
//! stays as it was), while the execution functions, `mod_watch` and
//! `service.enabled`/`disabled` act for real. The test installs a small
//! LSB init script `/etc/init.d/brine-test-svc-<pid as letters>` (its `start` runs a
//! `sleep` with a pidfile in a scratch dir), then applies the same
//! sequence of `service.*` states and functions with `salt-call` and, after
//! resetting the service, with `brine-call`, one after the other (both
//! touch the same service). Results must be identical once timings and
//! pids are dropped, and the process and rc links must really change.
//! Everything is cleaned up (process killed, rc directories restored to
//! their snapshot, script removed), also when the test fails.
//!
//! Needs root, `update-rc.d` and `insserv` (Debian's `service.enable` runs
//! `insserv NAME && update-rc.d NAME enable`); skipped, with a notice,
//! without them or without Salt. On a container whose other init scripts
//! make `insserv` fail, `service.enable` fails in both tools (compared as
//! is); a second pass puts a stub `insserv` first on PATH so that
//! `update-rc.d NAME enable` does the real link work.

use brine_core::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const RC_DIRS: &[&str] = &["0", "1", "2", "3", "4", "5", "6", "S"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn salt_call() -> Option<PathBuf> {
    let p = std::env::var_os("SALT_CALL")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".salt-venv/bin/salt-call"));
    p.exists().then_some(p)
}

fn brine_call() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_brine-call"))
}

fn have(cmd: &str) -> bool {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(cmd).exists())
}

/// Every entry of /etc/rc?.d: (dir, name) -> link target.
fn rc_snapshot() -> BTreeMap<(String, String), PathBuf> {
    let mut m = BTreeMap::new();
    for d in RC_DIRS {
        let dir = format!("/etc/rc{d}.d");
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let target = std::fs::read_link(e.path()).unwrap_or_default();
                m.insert((dir.clone(), name), target);
            }
        }
    }
    m
}

/// Undo what the test did to /etc/rc?.d: drop the links to `ours`, and
/// give links update-rc.d renumbered (same directory and target as in
/// `snap`, another name) their old names. Links other programs add or
/// remove meanwhile are left alone.
fn rc_restore(snap: &BTreeMap<(String, String), PathBuf>, ours: &str) {
    let now = rc_snapshot();
    for ((dir, name), target) in &now {
        let path = Path::new(dir).join(name);
        if target.file_name().is_some_and(|f| f == ours) {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        if snap.contains_key(&(dir.clone(), name.clone())) {
            continue;
        }
        let old = snap.iter().find(|((d, n), t)| {
            d == dir && *t == target && !now.contains_key(&(d.clone(), n.clone()))
        });
        if let Some(((d, n), t)) = old {
            let _ = std::fs::remove_file(&path);
            let _ = std::os::unix::fs::symlink(t, Path::new(d).join(n));
        }
    }
}

/// The test service and everything to undo.
struct TestService {
    name: String,
    /// /etc/init.d before the test (and its S-link names).
    scripts: Vec<String>,
    dir: PathBuf,
    rc: BTreeMap<(String, String), PathBuf>,
}

impl TestService {
    fn new() -> TestService {
        // No digits: debian_service.get_enabled takes what follows the
        // last digit run of an rc link name (Salt's `re.split(r"\d+")`).
        let letters: String = std::process::id()
            .to_string()
            .chars()
            .map(|c| (b'a' + c.to_digit(10).unwrap_or(0) as u8) as char)
            .collect();
        let name = format!("brine-test-svc-{letters}");
        let dir = std::env::temp_dir().join(format!("brine-svc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["conf", "root", "files", "pillar", "run", "stub"] {
            std::fs::create_dir_all(dir.join(d)).expect("scratch dir");
        }
        let d = dir.display();
        let conf = format!(
            "file_client: local\nid: h3svc\nroot_dir: {d}/root\ncachedir: {d}/root/cache\n\
             pki_dir: {d}/root/pki\nsock_dir: {d}/root/sock\nlog_file: {d}/root/log\n\
             file_roots:\n  base: [{d}/files]\npillar_roots:\n  base: [{d}/pillar]\n"
        );
        std::fs::write(dir.join("conf/minion"), conf).expect("config");
        let sls = format!(
            "changed:\n  test.succeed_with_changes: []\n\
             restart_it:\n  service.running:\n    - name: {name}\n    - watch:\n      - test: changed\n\
             reload_it:\n  service.running:\n    - name: {name}\n    - reload: True\n    - watch:\n      - test: changed\n"
        );
        std::fs::write(dir.join("files/watch.sls"), sls).expect("sls");
        {
            use std::os::unix::fs::PermissionsExt;
            let stub = dir.join("stub/insserv");
            std::fs::write(&stub, "#!/bin/sh\nexit 0\n").expect("stub");
            let _ = std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755));
        }
        let rc = rc_snapshot();
        let mut scripts: Vec<String> = std::fs::read_dir("/etc/init.d")
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        // debian_service names enabled services after the last digits.
        scripts.extend(rc.keys().filter_map(|(_, n)| {
            n.strip_prefix('S').map(|rest| {
                rest.rsplit(|c: char| c.is_ascii_digit())
                    .next()
                    .unwrap_or(rest)
                    .to_string()
            })
        }));
        let svc = TestService {
            scripts,
            rc,
            name,
            dir,
        };
        svc.install();
        svc
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.join("run").join(format!("{}.pid", self.name))
    }

    fn script_path(&self) -> PathBuf {
        Path::new("/etc/init.d").join(&self.name)
    }

    fn install(&self) {
        use std::os::unix::fs::PermissionsExt;
        let pf = self.pidfile();
        let pf = pf.display();
        let name = &self.name;
        let script = format!(
            "#!/bin/sh\n### BEGIN INIT INFO\n# Provides:          {name}\n# Required-Start:\n\
             # Required-Stop:\n# Default-Start:     2 3 4 5\n# Default-Stop:      0 1 6\n\
             # Short-Description: Brine test service\n### END INIT INFO\nPIDFILE={pf}\n\
             running() {{ [ -f \"$PIDFILE\" ] && kill -0 \"$(cat \"$PIDFILE\")\" 2>/dev/null; }}\n\
             case \"$1\" in\n\
             start) running && exit 0; sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > \"$PIDFILE\" ;;\n\
             stop) if [ -f \"$PIDFILE\" ]; then kill \"$(cat \"$PIDFILE\")\" 2>/dev/null; rm -f \"$PIDFILE\"; fi ;;\n\
             restart|force-reload) \"$0\" stop; \"$0\" start ;;\n\
             reload) running ;;\n\
             status) if running; then echo running; exit 0; else echo stopped; exit 3; fi ;;\n\
             *) echo \"Usage: $0 start|stop|restart|reload|status\"; exit 2 ;;\n\
             esac\nexit 0\n"
        );
        std::fs::write(self.script_path(), script).expect("install init script");
        std::fs::set_permissions(self.script_path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod init script");
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.pidfile())
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    fn process_alive(&self) -> bool {
        self.pid()
            .is_some_and(|p| Path::new(&format!("/proc/{p}")).exists() && !zombie(p))
    }

    fn stop_process(&self) {
        if let Some(p) = self.pid() {
            // SAFETY: kill(2) on a pid this test's service started.
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
        }
        let _ = std::fs::remove_file(self.pidfile());
    }

    /// Back to "installed, stopped, no rc links".
    fn reset(&self) {
        self.stop_process();
        rc_restore(&self.rc, &self.name);
    }

    fn links(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in RC_DIRS {
            if let Ok(rd) = std::fs::read_dir(format!("/etc/rc{d}.d")) {
                for e in rd.flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if n.ends_with(&self.name) {
                        out.push(format!("rc{d}.d/{}", &n[..1]));
                    }
                }
            }
        }
        out.sort();
        out
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("conf")
    }
}

fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

impl Drop for TestService {
    fn drop(&mut self) {
        self.stop_process();
        let _ = Command::new("update-rc.d")
            .args(["-f", &self.name, "remove"])
            .output();
        let _ = std::fs::remove_file(self.script_path());
        rc_restore(&self.rc, &self.name);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run salt-call or brine-call; the `local` value, or the error text.
fn call(bin: &Path, svc: &TestService, path_prefix: Option<&Path>, args: &[&str]) -> Value {
    let mut c = Command::new(bin);
    c.arg("--local")
        .arg("-c")
        .arg(svc.conf())
        .args(["--out", "json"])
        .args(args);
    if let Some(p) = path_prefix {
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{path}", p.display()));
    }
    let out = c.output().expect("run salt-call");
    let text = String::from_utf8_lossy(&out.stdout);
    let Ok(j) = serde_json::from_str::<serde_json::Value>(&text) else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rfind(|l| !l.starts_with('['))
            .unwrap_or_default()
            .to_string();
        return Value::Str(format!("rc={:?} {text}{last}", out.status.code()));
    };
    let mut v = Value::from_json(&j)
        .get("local")
        .cloned()
        .unwrap_or(Value::Null);
    scrub(&mut v);
    // Listings: only the test's service and the scripts present before
    // (other programs may install services meanwhile).
    if let (Some(f), Value::List(l)) = (args.first(), &mut v) {
        if f.starts_with("service.get_") {
            l.retain(|x| {
                x.as_str()
                    .is_some_and(|s| s == svc.name || svc.scripts.iter().any(|k| k == s))
            });
        }
    }
    v
}

fn scrub(v: &mut Value) {
    if let Value::Map(m) = v {
        m.shift_remove(&Value::from("start_time"));
        m.shift_remove(&Value::from("duration"));
        for (_, x) in m.iter_mut() {
            scrub(x);
        }
    }
}

/// One step: the call, and what must hold afterwards (process running,
/// S links present).
struct Step {
    args: Vec<String>,
    stub: bool,
    running: Option<bool>,
    enabled: Option<bool>,
}

fn steps(name: &str) -> Vec<Step> {
    let mut v = Vec::new();
    let mut add = |args: &[&str], stub: bool, running: Option<bool>, enabled: Option<bool>| {
        v.push(Step {
            args: args.iter().map(|a| a.replace("NAME", name)).collect(),
            stub,
            running,
            enabled,
        })
    };
    add(&["service.available", "NAME"], false, Some(false), None);
    add(&["service.missing", "NAME"], false, None, None);
    add(&["service.status", "NAME"], false, Some(false), None);
    add(&["service.enabled", "NAME"], false, None, Some(false));
    add(&["service.disabled", "NAME"], false, None, None);
    // systemctl is installed but systemd does not run: Salt's
    // service.offline makes running/dead do nothing.
    add(
        &["state.single", "service.running", "name=NAME", "test=True"],
        false,
        Some(false),
        None,
    );
    add(
        &["state.single", "service.running", "name=NAME"],
        false,
        Some(false),
        None,
    );
    add(
        &[
            "state.single",
            "service.running",
            "name=NAME",
            "provider=systemd",
        ],
        false,
        Some(false),
        None,
    );
    add(
        &[
            "state.single",
            "service.running",
            "name=NAME",
            "provider=debian_service",
        ],
        false,
        Some(false),
        None,
    );
    add(
        &[
            "state.single",
            "service.running",
            "name=NAME",
            "enabled=True",
        ],
        false,
        Some(false),
        None,
    );
    add(&["service.start", "NAME"], false, Some(true), None);
    add(&["service.status", "NAME"], false, Some(true), None);
    add(
        &["state.single", "service.dead", "name=NAME"],
        false,
        Some(true),
        None,
    );
    add(
        &["state.single", "service.dead", "name=NAME", "test=True"],
        false,
        Some(true),
        None,
    );
    // mod_watch does not look at offline: the watch really restarts.
    add(&["state.apply", "watch"], false, Some(true), None);
    add(&["service.restart", "NAME"], false, Some(true), None);
    add(&["service.reload", "NAME"], false, Some(true), None);
    add(&["service.force_reload", "NAME"], false, Some(true), None);
    add(&["service.stop", "NAME"], false, Some(false), None);
    add(&["service.status", "NAME"], false, Some(false), None);
    // insserv as installed (fails when other scripts' headers are broken).
    add(
        &["state.single", "service.enabled", "name=NAME"],
        false,
        None,
        None,
    );
    add(
        &["state.single", "service.disabled", "name=NAME"],
        false,
        None,
        None,
    );
    add(&["service.enable", "NAME"], false, None, None);
    // With a stub insserv first on PATH, update-rc.d does the link work.
    add(
        &["cmd.retcode", "update-rc.d NAME defaults"],
        true,
        None,
        Some(true),
    );
    add(&["service.enabled", "NAME"], true, None, Some(true));
    add(
        &["state.single", "service.disabled", "name=NAME", "test=True"],
        true,
        None,
        Some(true),
    );
    add(
        &["state.single", "service.disabled", "name=NAME"],
        true,
        None,
        Some(false),
    );
    add(
        &["state.single", "service.disabled", "name=NAME"],
        true,
        None,
        Some(false),
    );
    add(&["service.get_disabled"], true, None, None);
    add(
        &["state.single", "service.enabled", "name=NAME", "test=True"],
        true,
        None,
        Some(false),
    );
    add(
        &["state.single", "service.enabled", "name=NAME"],
        true,
        None,
        Some(true),
    );
    add(
        &["state.single", "service.enabled", "name=NAME"],
        true,
        None,
        Some(true),
    );
    add(&["service.get_enabled"], true, None, None);
    add(
        &[
            "state.single",
            "service.running",
            "name=NAME",
            "enable=False",
        ],
        true,
        Some(false),
        Some(true),
    );
    add(&["service.disable", "NAME"], true, None, Some(false));
    add(&["service.disabled", "NAME"], true, None, Some(false));
    add(&["service.enable", "NAME"], true, None, Some(true));
    add(
        &[
            "state.single",
            "service.disabled",
            "name=NAME",
            "provider=debian_service",
        ],
        true,
        None,
        Some(false),
    );
    add(
        &[
            "state.single",
            "service.enabled",
            "name=NAME",
            "provider=service",
        ],
        true,
        None,
        Some(true),
    );
    add(&["service.get_all"], true, None, None);
    // A service that does not exist.
    add(
        &["state.single", "service.running", "name=brine-no-such-svc"],
        false,
        None,
        None,
    );
    add(
        &["state.single", "service.dead", "name=brine-no-such-svc"],
        false,
        None,
        None,
    );
    add(
        &["state.single", "service.enabled", "name=brine-no-such-svc"],
        false,
        None,
        None,
    );
    add(
        &[
            "state.single",
            "service.enabled",
            "name=brine-no-such-svc",
            "test=True",
        ],
        false,
        None,
        None,
    );
    add(
        &["state.single", "service.disabled", "name=brine-no-such-svc"],
        false,
        None,
        None,
    );
    add(
        &["service.available", "brine-no-such-svc"],
        false,
        None,
        None,
    );
    add(&["service.status", "brine-no-such-svc"], false, None, None);
    v
}

/// Run every step with `bin`; the results, and the effect failures.
fn run_all(bin: &Path, svc: &TestService, effects: &mut Vec<String>) -> Vec<Value> {
    svc.reset();
    let stub = svc.dir.join("stub");
    let mut out = Vec::new();
    for step in steps(&svc.name) {
        let args: Vec<&str> = step.args.iter().map(String::as_str).collect();
        let v = call(bin, svc, step.stub.then_some(stub.as_path()), &args);
        if let Some(want) = step.running {
            if svc.process_alive() != want {
                effects.push(format!(
                    "{}: after {args:?} the process should {}be running",
                    bin.display(),
                    if want { "" } else { "not " }
                ));
            }
        }
        if let Some(want) = step.enabled {
            let has_s = svc.links().iter().any(|l| l == "rc2.d/S");
            if has_s != want {
                effects.push(format!(
                    "{}: after {args:?} rc2.d should {}have an S link (links: {:?})",
                    bin.display(),
                    if want { "" } else { "not " },
                    svc.links()
                ));
            }
        }
        out.push(v);
    }
    svc.reset();
    out
}

#[test]
fn service_states_match_salt_on_a_real_service() {
    let Some(salt) = salt_call() else {
        eprintln!("salt-call not found: skipping");
        return;
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !have("update-rc.d") || !have("insserv") {
        eprintln!("needs root, update-rc.d and insserv (apt-get install insserv): skipping");
        return;
    }
    if Path::new("/run/systemd/system").exists() {
        eprintln!("systemd is running: the debian_service test does not apply, skipping");
        return;
    }
    let svc = TestService::new();
    let mut effects = Vec::new();
    let want = run_all(&salt, &svc, &mut effects);
    let got = run_all(&brine_call(), &svc, &mut effects);
    let all = steps(&svc.name);
    let mut diffs = Vec::new();
    for ((step, w), g) in all.iter().zip(&want).zip(&got) {
        if w != g {
            diffs.push(format!(
                "{:?}\n  salt:  {}\n  brine: {}",
                step.args,
                w.to_json(),
                g.to_json()
            ));
        }
    }
    eprintln!(
        "service steps: {}/{} identical to Salt",
        all.len() - diffs.len(),
        all.len()
    );
    let mut problems = effects;
    problems.extend(diffs);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
