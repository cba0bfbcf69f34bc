//! Conformance of the `file` execution functions under the file states
//! (stats, get_mode/user/group, get_hash, id lookups, check_perms,
//! get_diff, mkdir/makedirs, remove, set_mode, copy) with real Salt
//! 3007.8 (`salt-call --local file.X` vs `brine-call --local file.X` on
//! twin scratch trees), and of [`unified_diff`] with Python's
//! `difflib.unified_diff`. Skipped, with a notice, without Salt's venv.

use brine_minion::modules::file::{get_diff, readlines, unified_diff};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn salt_call() -> Option<PathBuf> {
    let p = std::env::var_os("SALT_CALL")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".salt-venv/bin/salt-call"));
    p.exists().then_some(p)
}

fn python() -> Option<PathBuf> {
    let salt = salt_call()?;
    let p = salt.parent()?.join("python");
    p.exists().then_some(p)
}

fn brine_call() -> PathBuf {
    std::env::var_os("BRINE_CALL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_brine-call")))
}

fn setup(root: &Path) {
    let _ = std::fs::remove_dir_all(root);
    let r = root.display();
    std::fs::create_dir_all(root.join("conf")).unwrap();
    std::fs::create_dir_all(root.join("srv/salt")).unwrap();
    std::fs::write(
        root.join("conf/minion"),
        format!(
            "id: testminion\nfile_client: local\nroot_dir: {r}/run\ncachedir: {r}/run/cache\n\
             pki_dir: {r}/run/pki\nsock_dir: {r}/run/sock\nlog_file: {r}/run/log\n\
             file_roots:\n  base: [{r}/srv/salt]\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("srv/salt/a.txt"), "one\ntwo\nthree\n").unwrap();
    let d = root.join("d");
    std::fs::create_dir_all(d.join("tree/sub")).unwrap();
    std::fs::write(d.join("f"), "one\n2\nthree\n").unwrap();
    std::fs::set_permissions(d.join("f"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::write(d.join("bin"), b"\x00\x01").unwrap();
    std::fs::write(d.join("tree/sub/x"), "x\n").unwrap();
    std::fs::write(d.join("gone"), "x\n").unwrap();
}

fn run(exe: &Path, root: &Path, args: &[String]) -> serde_json::Value {
    let out = Command::new(exe)
        .arg("--local")
        .arg("-c")
        .arg(root.join("conf"))
        .args(["--out", "json"])
        .args(args)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout).replace(&root.display().to_string(), "ROOT");
    let mut j: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| {
        serde_json::json!({"error": String::from_utf8_lossy(&out.stderr).to_string(), "out": text})
    });
    // Times change with every read; the twin files have their own inodes.
    if let Some(m) = j["local"].as_object_mut() {
        for k in ["atime", "mtime", "ctime", "inode"] {
            m.remove(k);
        }
    }
    serde_json::json!({"out": j, "rc": out.status.code()})
}

#[test]
fn exec_functions_match_salt() {
    let Some(salt) = salt_call() else {
        eprintln!("state_file_exec: Salt venv not found, skipping");
        return;
    };
    let base = std::env::temp_dir().join(format!("brine-file-exec-{}", std::process::id()));
    let (sroot, broot) = (base.join("salt"), base.join("brine"));
    setup(&sroot);
    setup(&broot);
    let calls: &[&[&str]] = &[
        &["file.stats", "{D}/f"],
        &["file.stats", "{D}/nope"],
        &["file.get_mode", "{D}/f"],
        &["file.get_user", "{D}/f"],
        &["file.get_group", "{D}/f"],
        &["file.get_uid", "{D}/f"],
        &["file.get_hash", "{D}/f"],
        &["file.get_hash", "{D}/f", "form=md5"],
        &["file.user_to_uid", "nobody"],
        &["file.user_to_uid", "nosuchuser"],
        &["file.uid_to_user", "65534"],
        &["file.group_to_gid", "nogroup"],
        &["file.gid_to_group", "0"],
        &["file.get_diff", "{D}/f", "salt://a.txt"],
        &[
            "file.get_diff",
            "{D}/f",
            "salt://a.txt",
            "show_filenames=False",
        ],
        &["file.get_diff", "{D}/f", "{D}/bin"],
        &["file.get_diff", "{D}/f", "{D}/f"],
        &[
            "file.check_perms",
            "{D}/f",
            "{}",
            "nobody",
            "nogroup",
            "600",
        ],
        &[
            "file.check_perms",
            "{D}/f",
            "{}",
            "nobody",
            "nogroup",
            "600",
        ],
        &["file.set_mode", "{D}/f", "0644"],
        &["file.mkdir", "{D}/new/a/b", "mode=750"],
        &["file.makedirs", "{D}/mk/x/y/"],
        &["file.makedirs", "{D}/mk/x/y/"],
        &["file.remove", "{D}/gone"],
        &["file.remove", "{D}/gone"],
        &["file.copy", "{D}/f", "{D}/f2"],
        &["file.copy", "{D}/tree", "{D}/tree2"],
        &["file.copy", "{D}/tree", "{D}/tree3", "recurse=True"],
        &["file.normpath", "/a/./b/../c//d"],
        &["file.file_exists", "{D}/f"],
        &["file.directory_exists", "{D}/tree"],
    ];
    let mut failures = Vec::new();
    for c in calls {
        let args = |root: &Path| -> Vec<String> {
            c.iter()
                .map(|a| a.replace("{D}", &root.join("d").display().to_string()))
                .collect()
        };
        let s = run(&salt, &sroot, &args(&sroot));
        let b = run(&brine_call(), &broot, &args(&broot));
        let ok = if s["rc"] == 0 {
            s == b
        } else {
            // Failures: same exit code; the error texts differ in layout.
            s["rc"] == b["rc"]
        };
        if !ok {
            failures.push(format!("{c:?}\n  salt:  {s}\n  brine: {b}"));
        }
    }
    eprintln!(
        "state_file_exec: {}/{} calls match Salt",
        calls.len() - failures.len(),
        calls.len()
    );
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&base);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A small deterministic PRNG (xorshift) for generated inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn gen_text(rng: &mut Rng, lines: usize, alphabet: u64) -> String {
    let mut s = String::new();
    for _ in 0..lines {
        s.push_str(&format!("l{}\n", rng.below(alphabet)));
    }
    if rng.below(4) == 0 {
        s.push_str("no newline");
    }
    s
}

#[test]
fn unified_diff_matches_python_difflib() {
    let Some(py) = python() else {
        eprintln!("state_file_exec: Salt venv not found, skipping");
        return;
    };
    let mut rng = Rng(0x5eed_1234_abcd);
    let mut pairs = Vec::new();
    for i in 0..60 {
        // Long inputs (>= 200 lines) exercise the autojunk heuristic.
        let n = if i % 5 == 0 {
            260
        } else {
            1 + rng.below(40) as usize
        };
        let a = gen_text(&mut rng, n, if i % 5 == 0 { 8 } else { 12 });
        let mut b = String::new();
        for line in a.split_inclusive('\n') {
            match rng.below(10) {
                0 => {}
                1 => b.push_str(&format!("new{}\n", rng.below(5))),
                2 => {
                    b.push_str(line);
                    b.push_str("ins\n");
                }
                _ => b.push_str(line),
            }
        }
        pairs.push((a, b));
    }
    let input = serde_json::to_string(&pairs).unwrap();
    let script = "import sys, json, difflib\n\
        pairs = json.load(sys.stdin)\n\
        out = [''.join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), 'x', 'y')) for a, b in pairs]\n\
        print(json.dumps(out))\n";
    let mut child = Command::new(py)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let expected: Vec<String> = serde_json::from_slice(&out.stdout).expect("python output");
    for ((a, b), want) in pairs.iter().zip(&expected) {
        let got = unified_diff(
            &readlines(a.as_bytes()),
            &readlines(b.as_bytes()),
            "x",
            "y",
            3,
        );
        assert_eq!(&got, want, "a={a:?}\nb={b:?}");
    }
}

#[test]
fn get_diff_binary_and_show_changes() {
    assert_eq!(get_diff(b"a\n", b"a\n", None, true), "");
    assert_eq!(
        get_diff(b"a\n", b"b\n", None, false),
        "<show_changes=False>"
    );
    assert_eq!(
        get_diff(b"\x00", b"b\n", None, true),
        "Replace binary file with text file"
    );
    assert_eq!(
        get_diff(b"a", b"\x00", None, true),
        "Replace text file with binary file"
    );
    assert_eq!(
        get_diff(b"\x00a", b"\x00", None, true),
        "Replace binary file"
    );
    assert_eq!(
        get_diff(b"a\n", b"b\n", Some(("", "")), true),
        "--- \n+++ \n@@ -1 +1 @@\n-a\n+b\n"
    );
}
