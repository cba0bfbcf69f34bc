//! Real-effect conformance test of the `pkg`/`pkgrepo` states and the apt
//! `pkg` execution functions against Salt 3007.8.
//!
//! Builds a tiny Debian package (`brine-test-hello` 1.0 and 1.1) into a
//! local apt repository under a temp dir, then runs each step through the
//! real `salt-call --local` and through `brine-call --local` in turn (they
//! share the real dpkg database): put the system in the step's starting
//! state, run Salt, record its return and the dpkg/sources state, put the
//! system back, run Brine, record, compare. Everything the test added (the
//! package, the sources file, the apt lists of the repo, the keyring) is
//! removed at the end, also on failure.
//!
//! Takes about 13 minutes (two salt-call/brine-call runs per step); set
//! `BRINE_SKIP_APT_TESTS=1` to skip it. Needs root, dpkg-deb, apt-get (and dpkg-scanpackages from dpkg-dev, or
//! sha256sum) and Salt in `.salt-venv` (or `SALT_CALL`); skipped otherwise.

use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::process::Command;

const PKG: &str = "brine-test-hello";

fn salt_call() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SALT_CALL") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin/salt-call");
    p.exists().then_some(p)
}

fn have(bin: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run a command; (rc, stdout, stderr).
fn sh(argv: &[&str]) -> (i32, String, String) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn is_root() -> bool {
    sh(&["id", "-u"]).1.trim() == "0"
}

/// Everything the test puts on the system; removed on drop.
struct Fixture {
    dir: PathBuf,
    sources: PathBuf,
    salt: PathBuf,
    brine: PathBuf,
}

impl Fixture {
    fn repo_line(&self) -> String {
        format!("deb [trusted=yes] file:{}/repo ./", self.dir.display())
    }

    fn keyring(&self) -> PathBuf {
        self.dir.join("keyrings/brine-test.gpg")
    }

    fn signed_line(&self) -> String {
        format!(
            "deb [signed-by={} trusted=yes] file:{}/repo ./",
            self.keyring().display(),
            self.dir.display()
        )
    }

    fn deb(&self, version: &str) -> String {
        format!("{}/repo/{PKG}_{version}_all.deb", self.dir.display())
    }

    fn new() -> Fixture {
        let dir = std::env::temp_dir().join(format!("brine-pkg-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("repo")).unwrap();
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        std::fs::create_dir_all(dir.join("keyrings")).unwrap();
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        let root = dir.join("root");
        std::fs::write(
            dir.join("conf/minion"),
            format!(
                "file_client: local\nroot_dir: {r}\ncachedir: {r}/cache\npki_dir: {r}/pki\nsock_dir: {r}/sock\nlog_file: {r}/log\nfile_roots:\n  base: [{d}/states]\npillar_roots:\n  base: [{d}/pillar]\n",
                r = root.display(),
                d = dir.display()
            ),
        )
        .unwrap();
        let f = Fixture {
            sources: PathBuf::from(format!(
                "/etc/apt/sources.list.d/brine-test-{}.list",
                std::process::id()
            )),
            salt: salt_call().expect("salt-call"),
            brine: PathBuf::from(env!("CARGO_BIN_EXE_brine-call")),
            dir,
        };
        for v in ["1.0", "1.1"] {
            let b = f.dir.join(format!("build/{v}"));
            std::fs::create_dir_all(b.join("DEBIAN")).unwrap();
            std::fs::create_dir_all(b.join("usr/share/brine-test-hello")).unwrap();
            std::fs::create_dir_all(b.join("etc")).unwrap();
            std::fs::write(
                b.join("DEBIAN/control"),
                format!("Package: {PKG}\nVersion: {v}\nArchitecture: all\nMaintainer: Brine <brine@example.invalid>\nDescription: Brine test package\n"),
            )
            .unwrap();
            std::fs::write(b.join("DEBIAN/conffiles"), "/etc/brine-test-hello.conf\n").unwrap();
            std::fs::write(b.join("etc/brine-test-hello.conf"), "conf\n").unwrap();
            std::fs::write(
                b.join("usr/share/brine-test-hello/hello.txt"),
                format!("hello {v}\n"),
            )
            .unwrap();
            let (rc, _, err) = sh(&[
                "dpkg-deb",
                "--root-owner-group",
                "--build",
                b.to_str().unwrap(),
                &f.deb(v),
            ]);
            assert_eq!(rc, 0, "dpkg-deb: {err}");
        }
        f.write_index();
        std::fs::write(f.dir.join("keys/brine-test.gpg"), "not really a key\n").unwrap();
        std::fs::create_dir_all(f.dir.join("states")).unwrap();
        std::fs::write(
            f.dir.join("states/pkgtest.sls"),
            format!(
                "brine-repo:\n  pkgrepo.managed:\n    - name: {repo}\n    - file: {file}\n    - refresh: False\n\
                 hello:\n  pkg.installed:\n    - pkgs:\n      - {PKG}: '1.0'\n    - hold: True\n    - require:\n      - pkgrepo: brine-repo\n\
                 hello-latest:\n  pkg.latest:\n    - name: {PKG}\n    - require:\n      - pkg: hello\n",
                repo = f.repo_line(),
                file = f.sources.display()
            ),
        )
        .unwrap();
        f
    }

    /// The `Packages` index (both versions).
    fn write_index(&self) {
        let repo = self.dir.join("repo");
        let text = if have("dpkg-scanpackages") {
            let out = Command::new("dpkg-scanpackages")
                .args(["-m", ".", "/dev/null"])
                .current_dir(&repo)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            let mut t = String::new();
            for v in ["1.0", "1.1"] {
                let deb = self.deb(v);
                let size = std::fs::metadata(&deb).unwrap().len();
                let sha = sh(&["sha256sum", &deb]).1;
                let sha = sha.split_whitespace().next().unwrap_or("").to_string();
                t.push_str(&format!(
                    "Package: {PKG}\nVersion: {v}\nArchitecture: all\nMaintainer: Brine <brine@example.invalid>\nFilename: ./{PKG}_{v}_all.deb\nSize: {size}\nSHA256: {sha}\nDescription: Brine test package\n\n"
                ));
            }
            t
        };
        std::fs::write(repo.join("Packages"), text).unwrap();
    }

    fn conf(&self) -> String {
        self.dir.join("conf").display().to_string()
    }

    /// Run `bin --local -c conf --out json args...`: (rc, return).
    fn call(&self, bin: &Path, args: &[String]) -> (i32, J) {
        let mut cmd = Command::new(bin);
        cmd.args(["--local", "-c", &self.conf(), "--out", "json"])
            .args(args);
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let j: J = serde_json::from_str(&stdout).unwrap_or_else(|_| {
            J::String(format!(
                "<no json> {} {}",
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            ))
        });
        let mut j = j.get("local").cloned().unwrap_or(j);
        if let J::Object(m) = &mut j {
            for st in m.values_mut() {
                if let J::Object(s) = st {
                    s.remove("start_time");
                    s.remove("duration");
                }
            }
        }
        (out.status.code().unwrap_or(-1), j)
    }

    /// The real state: dpkg status/version/selection and the sources file.
    fn system(&self) -> String {
        let (_, st, _) = sh(&["dpkg-query", "-W", "-f", "${Status} ${Version}", PKG]);
        let (_, sel, _) = sh(&["dpkg", "--get-selections", PKG]);
        let src =
            std::fs::read_to_string(&self.sources).unwrap_or_else(|_| "<no sources file>".into());
        let key = if self.keyring().exists() {
            "key"
        } else {
            "no key"
        };
        format!("{} | {} | {:?} | {key}", st.trim(), sel.trim(), src)
    }

    // Direct (apt-free where possible) ways to put the system in a state.
    fn purge_pkg(&self) {
        sh(&["apt-mark", "unhold", PKG]);
        sh(&["dpkg", "--purge", PKG]);
    }
    fn install_deb(&self, v: &str, hold: bool) {
        sh(&["apt-mark", "unhold", PKG]);
        let (rc, _, err) = sh(&["dpkg", "-i", &self.deb(v)]);
        assert_eq!(rc, 0, "dpkg -i: {err}");
        if hold {
            sh(&["apt-mark", "hold", PKG]);
        }
    }
    fn remove_keep_conf(&self, v: &str) {
        self.install_deb(v, false);
        sh(&["dpkg", "--remove", PKG]);
    }
    fn write_sources(&self, line: &str) {
        std::fs::write(&self.sources, format!("{line} \n")).unwrap();
    }
    fn no_sources(&self) {
        let _ = std::fs::remove_file(&self.sources);
        let _ = std::fs::remove_file(self.keyring());
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.purge_pkg();
        let _ = std::fs::remove_file(&self.sources);
        // The apt lists of the test repository.
        let tag = self
            .dir
            .display()
            .to_string()
            .trim_start_matches('/')
            .replace('/', "_");
        if let Ok(rd) = std::fs::read_dir("/var/lib/apt/lists") {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().contains(&tag) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One compared step: results of (Salt, Brine).
struct Report {
    ok: Vec<String>,
    bad: Vec<String>,
}

impl Report {
    /// `setup()`, Salt, record; `setup()`, Brine, record; compare.
    fn step(&mut self, f: &Fixture, label: &str, args: &[String], setup: &dyn Fn()) {
        setup();
        let (src, sret) = f.call(&f.salt, args);
        let ssys = f.system();
        setup();
        let (brc, bret) = f.call(&f.brine, args);
        let bsys = f.system();
        if (src, &sret, &ssys) == (brc, &bret, &bsys) {
            self.ok.push(label.to_string());
        } else {
            self.bad.push(format!(
                "{label}:\n  salt  rc={src} {}\n        {ssys}\n  brine rc={brc} {}\n        {bsys}",
                serde_json::to_string(&sret).unwrap_or_default(),
                serde_json::to_string(&bret).unwrap_or_default()
            ));
        }
    }
}

impl Report {
    /// Like [`Report::step`] for a call both fail with different texts:
    /// compare the exit code, and that neither printed a return.
    fn step_rc(&mut self, f: &Fixture, label: &str, args: &[String], setup: &dyn Fn()) {
        setup();
        let (src, sret) = f.call(&f.salt, args);
        let ssys = f.system();
        setup();
        let (brc, bret) = f.call(&f.brine, args);
        let bsys = f.system();
        let no_json = |j: &J| j.as_str().is_some_and(|s| s.starts_with("<no json>"));
        if src == brc && no_json(&sret) && no_json(&bret) && ssys == bsys {
            self.ok.push(label.to_string());
        } else {
            self.bad.push(format!(
                "{label}: salt rc={src} {sret} {ssys}; brine rc={brc} {bret} {bsys}"
            ));
        }
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn pkg_states_match_salt_on_a_real_apt_repository() {
    if std::env::var_os("BRINE_SKIP_APT_TESTS").is_some() {
        eprintln!("skipped: BRINE_SKIP_APT_TESTS is set");
        return;
    }
    if !is_root() || !have("dpkg-deb") || !have("apt-get") || salt_call().is_none() {
        eprintln!("skipped: needs root, dpkg-deb, apt-get and salt-call");
        return;
    }
    let f = Fixture::new();
    let mut r = Report {
        ok: vec![],
        bad: vec![],
    };
    let repo = f.repo_line();
    let file = format!("file={}", f.sources.display());
    let name = |l: &str| format!("name={l}");
    let single = |rest: &[&str]| -> Vec<String> {
        let mut v = args(&["state.single"]);
        v.extend(args(rest));
        v
    };

    // pkgrepo.managed: new, test mode, again (Salt always rewrites a line
    // with options other than arch/signed-by).
    r.step(
        &f,
        "pkgrepo.managed test",
        &single(&["pkgrepo.managed", &name(&repo), &file, "test=True"]),
        &|| f.no_sources(),
    );
    r.step(
        &f,
        "pkgrepo.managed new",
        &single(&["pkgrepo.managed", &name(&repo), &file]),
        &|| f.no_sources(),
    );
    r.step(
        &f,
        "pkgrepo.managed again",
        &single(&["pkgrepo.managed", &name(&repo), &file]),
        &|| f.write_sources(&repo),
    );
    r.step(&f, "pkg.list_repos", &args(&["pkg.list_repos"]), &|| {
        f.write_sources(&repo)
    });
    r.step(&f, "pkg.get_repo", &args(&["pkg.get_repo", &repo]), &|| {});

    // pkg.installed / latest / hold.
    let absent = || f.purge_pkg();
    r.step(
        &f,
        "installed 1.0 test",
        &single(&[
            "pkg.installed",
            &format!("name={PKG}"),
            "version=1.0",
            "test=True",
        ]),
        &absent,
    );
    r.step(
        &f,
        "installed 1.0",
        &single(&["pkg.installed", &format!("name={PKG}"), "version=1.0"]),
        &absent,
    );
    let v10 = || f.install_deb("1.0", false);
    r.step(
        &f,
        "installed 1.0 again",
        &single(&["pkg.installed", &format!("name={PKG}"), "version=1.0"]),
        &v10,
    );
    r.step(
        &f,
        "installed 1.1 test",
        &single(&[
            "pkg.installed",
            &format!("name={PKG}"),
            "version=1.1",
            "test=True",
        ]),
        &v10,
    );
    r.step(
        &f,
        "installed hold",
        &single(&[
            "pkg.installed",
            &format!("name={PKG}"),
            "version=1.0",
            "hold=True",
        ]),
        &v10,
    );
    let v10h = || f.install_deb("1.0", true);
    r.step(
        &f,
        "installed hold again",
        &single(&["pkg.installed", &format!("name={PKG}"), "hold=True"]),
        &v10h,
    );
    r.step(&f, "pkg.version", &args(&["pkg.version", PKG]), &|| {});
    r.step(
        &f,
        "pkg.latest_version",
        &args(&["pkg.latest_version", PKG, "refresh=False"]),
        &|| {},
    );
    r.step(
        &f,
        "pkg.upgrade_available",
        &args(&["pkg.upgrade_available", PKG]),
        &|| {},
    );
    r.step(
        &f,
        "latest test",
        &single(&["pkg.latest", &format!("name={PKG}"), "test=True"]),
        &v10h,
    );
    r.step(
        &f,
        "latest held",
        &single(&["pkg.latest", &format!("name={PKG}")]),
        &v10h,
    );
    let v11 = || f.install_deb("1.1", false);
    r.step(
        &f,
        "latest current",
        &single(&["pkg.latest", &format!("name={PKG}")]),
        &v11,
    );
    r.step(
        &f,
        "installed wildcard downgrade",
        &single(&["pkg.installed", &format!("name={PKG}"), "version=1.0*"]),
        &v11,
    );
    r.step(
        &f,
        "installed <1.1",
        &single(&["pkg.installed", &format!("name={PKG}"), "version=<1.1"]),
        &v11,
    );
    r.step(
        &f,
        "installed pkgs >=1.1",
        &single(&[
            "pkg.installed",
            "name=x",
            &format!("pkgs=[{{\"{PKG}\": \">=1.1\"}}]"),
        ]),
        &v10,
    );
    r.step(
        &f,
        "installed no such version",
        &single(&["pkg.installed", &format!("name={PKG}"), "version=9.9"]),
        &v10,
    );
    r.step(&f, "pkg.hold", &args(&["pkg.hold", PKG]), &v11);
    r.step(&f, "pkg.unhold", &args(&["pkg.unhold", PKG]), &|| {
        f.install_deb("1.1", true)
    });
    r.step(
        &f,
        "installed unhold",
        &single(&["pkg.installed", &format!("name={PKG}"), "hold=False"]),
        &|| f.install_deb("1.1", true),
    );

    // removed / purged.
    let v11h = || f.install_deb("1.1", true);
    r.step(
        &f,
        "removed test",
        &single(&["pkg.removed", &format!("name={PKG}"), "test=True"]),
        &v11,
    );
    r.step(
        &f,
        "removed held",
        &single(&["pkg.removed", &format!("name={PKG}")]),
        &v11h,
    );
    r.step(
        &f,
        "removed",
        &single(&["pkg.removed", &format!("name={PKG}")]),
        &v11,
    );
    let rc = || f.remove_keep_conf("1.1");
    r.step(
        &f,
        "removed again",
        &single(&["pkg.removed", &format!("name={PKG}")]),
        &rc,
    );
    r.step(
        &f,
        "list_pkgs removed",
        &args(&["pkg.list_pkgs", "removed=True"]),
        &rc,
    );
    r.step(
        &f,
        "purged test",
        &single(&["pkg.purged", &format!("name={PKG}"), "test=True"]),
        &rc,
    );
    r.step(
        &f,
        "purged config-files",
        &single(&["pkg.purged", &format!("name={PKG}")]),
        &rc,
    );
    r.step(
        &f,
        "purged installed",
        &single(&["pkg.purged", &format!("name={PKG}")]),
        &v11,
    );
    r.step(
        &f,
        "purged again",
        &single(&["pkg.purged", &format!("name={PKG}")]),
        &absent,
    );
    r.step(
        &f,
        "removed absent",
        &single(&["pkg.removed", &format!("name={PKG}")]),
        &absent,
    );

    // Execution functions.
    r.step(
        &f,
        "pkg.install version",
        &args(&["pkg.install", PKG, "version='1.0'"]),
        &absent,
    );
    r.step_rc(
        &f,
        "pkg.install float version",
        &args(&["pkg.install", PKG, "version=1.0"]),
        &absent,
    );
    r.step(&f, "pkg.remove", &args(&["pkg.remove", PKG]), &v10);
    r.step(&f, "pkg.purge", &args(&["pkg.purge", PKG]), &v10);
    r.step(
        &f,
        "pkg.version_cmp",
        &args(&["pkg.version_cmp", "1:1.0-2", "1.0~rc1"]),
        &|| {},
    );
    r.step(&f, "pkg.list_pkgs", &args(&["pkg.list_pkgs"]), &v10);

    // A whole SLS: repo, then install (refreshing once, as Salt's
    // mod_init arranges), hold, and latest on a held package.
    let bare = || {
        f.purge_pkg();
        f.no_sources();
    };
    r.step(
        &f,
        "state.apply test",
        &args(&["state.apply", "pkgtest", "test=True"]),
        &bare,
    );
    r.step(&f, "state.apply", &args(&["state.apply", "pkgtest"]), &bare);

    // pkgrepo.absent, and a signed-by keyring from key_url.
    let with_repo = || f.write_sources(&repo);
    r.step(
        &f,
        "pkgrepo.absent test",
        &single(&["pkgrepo.absent", &name(&repo), "test=True"]),
        &with_repo,
    );
    r.step(
        &f,
        "pkgrepo.absent",
        &single(&["pkgrepo.absent", &name(&repo)]),
        &with_repo,
    );
    r.step(
        &f,
        "pkgrepo.absent again",
        &single(&["pkgrepo.absent", &name(&repo)]),
        &|| f.no_sources(),
    );
    r.step(
        &f,
        "pkg.del_repo missing",
        &args(&["pkg.del_repo", &repo]),
        &|| f.no_sources(),
    );
    let signed = f.signed_line();
    let key_url = format!("key_url={}", f.dir.join("keys/brine-test.gpg").display());
    r.step(
        &f,
        "pkgrepo.managed signed-by",
        &single(&[
            "pkgrepo.managed",
            &name(&signed),
            &file,
            &key_url,
            "aptkey=False",
        ]),
        &|| f.no_sources(),
    );
    r.step(
        &f,
        "pkg.get_repo signed-by",
        &args(&["pkg.get_repo", &signed]),
        &|| {},
    );
    r.step(
        &f,
        "pkg.del_repo",
        &args(&["pkg.del_repo", &signed]),
        &|| f.write_sources(&signed),
    );
    f.purge_pkg();

    let total = r.ok.len() + r.bad.len();
    eprintln!("pkg conformance: {}/{} steps match Salt", r.ok.len(), total);
    assert!(
        r.bad.is_empty(),
        "{} of {total} steps differ from Salt:\n{}",
        r.bad.len(),
        r.bad.join("\n")
    );
}
