//! brine-master's file server against Salt 3007.8's own: a tree with nested
//! and empty directories, symlinks inside and out of the roots, a binary
//! file larger than `file_buffer_size`, two saltenvs (base with two roots),
//! is served by `brine_master::fileserver::FileServer` and by
//! `salt.fileserver.Fileserver(salt.config.master_config(...))`, request by
//! request, with `fileserver_followsymlinks` on (Salt's default) and off.
//! Every answer must be identical. Then the security cases are asserted on
//! their own: `..`, absolute paths, unknown saltenvs and symlinks out of the
//! roots with following off give no file.

use brine_core::value::{Map, Value};
use brine_master::fileserver::FileServer;
use serde_json::{json, Value as J};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn salt_python() -> Option<PathBuf> {
    let py = repo().join(".salt-venv/bin/python");
    let master = repo().join(".salt-venv/bin/salt-master");
    if py.exists() && master.exists() {
        Some(py)
    } else {
        eprintln!(
            "SKIP: .salt-venv/bin/salt-master is missing (run scripts/test.sh to create the venv)"
        );
        None
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brine-fs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs Salt's Fileserver over a master config and answers each request as
/// AESFuncs would (bytes become {"__bytes__": hex}).
const PY: &str = r#"
import json, sys, gzip
import salt.config, salt.fileserver
opts = salt.config.master_config(sys.argv[1])
fs = salt.fileserver.Fileserver(opts)
fs.init()
funcs = {
    "_serve_file": fs.serve_file, "_file_find": fs._find_file,
    "_file_hash": fs.file_hash, "_file_hash_and_stat": fs.file_hash_and_stat,
    "_file_list": fs.file_list, "_file_list_emptydirs": fs.file_list_emptydirs,
    "_dir_list": fs.dir_list, "_symlink_list": fs.symlink_list,
    "_file_envs": fs.file_envs,
}
def enc(v):
    if isinstance(v, bytes):
        return {"__bytes__": v.hex()}
    if isinstance(v, dict):
        return {k: enc(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    return v
out = []
for cmd, load in json.load(open(sys.argv[2])):
    try:
        ret = funcs[cmd](dict(load))
        if cmd == "_file_envs" and isinstance(ret, list):
            ret = sorted(ret)
        if cmd == "_serve_file" and ret.get("gzip"):
            ret["data"] = gzip.decompress(ret["data"])
        out.append({"ok": enc(ret)})
    except Exception as exc:
        out.append({"err": repr(exc)})
print(json.dumps(out))
"#;

fn to_j(v: &Value) -> J {
    match v {
        Value::Bytes(b) => {
            json!({"__bytes__": b.iter().map(|x| format!("{x:02x}")).collect::<String>()})
        }
        Value::List(l) => J::Array(l.iter().map(to_j).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.key_string(), to_j(v))).collect()),
        other => other.to_json(),
    }
}

fn gunzip_with_python(py: &Path, data: &[u8], dir: &Path) -> Vec<u8> {
    let f = dir.join("gz.bin");
    std::fs::write(&f, data).unwrap();
    let out = Command::new(py)
        .arg("-c")
        .arg("import gzip,sys; sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1],'rb').read()))")
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python gzip refused our gzip: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The tree both servers see. Returns (base1, base2, dev, outside).
fn build_tree(t: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let base1 = t.join("base1");
    let base2 = t.join("base2");
    let dev = t.join("dev");
    let outside = t.join("outside");
    for d in [
        base1.join("a/b/deeper"),
        base1.join("a/empty"),
        base1.join("emptytop"),
        base2.join("a/b"),
        base2.join("only2dir/empty2"),
        dev.join("sub"),
        outside.join("odir"),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    let w = |p: PathBuf, c: &[u8]| std::fs::write(p, c).unwrap();
    w(base1.join("top.sls"), b"base:\n  '*':\n    - a\n");
    w(base1.join("a/init.sls"), b"x:\n  test.nop\n");
    w(base1.join("a/b/c.txt"), b"hello c\n");
    w(base1.join("a/b/dup.txt"), b"from base1\n");
    w(base1.join("a/b/deeper/d.txt"), b"deep\n");
    w(base1.join("skip.ign"), b"ignored by glob\n");
    w(base2.join("a/b/dup.txt"), b"from base2\n");
    w(base2.join("only2.txt"), b"only in base2\n");
    w(dev.join("dev.sls"), b"dev: true\n");
    w(dev.join("sub/x.conf"), b"x=1\n");
    w(outside.join("secret.txt"), b"top secret\n");
    w(outside.join("odir/o.txt"), b"outside dir file\n");
    // A binary file spanning three buffers, with every byte value.
    let big: Vec<u8> = (0..1_100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    w(base1.join("big.bin"), &big);
    symlink("a/b/c.txt", base1.join("link_in")).unwrap();
    symlink("a", base1.join("link_dir")).unwrap();
    symlink("../outside/secret.txt", base1.join("link_out")).unwrap();
    symlink(outside.join("secret.txt"), base1.join("link_abs_out")).unwrap();
    symlink(outside.join("odir"), base1.join("link_out_dir")).unwrap();
    symlink("nowhere", base1.join("a/broken")).unwrap();
    (base1, base2, dev, outside)
}

fn master_conf(t: &Path, name: &str, extra: &str) -> (PathBuf, Map) {
    let (base1, base2, dev) = (t.join("base1"), t.join("base2"), t.join("dev"));
    let cache = t.join(format!("cache-{name}"));
    let text = format!(
        "root_dir: {t}\ncachedir: {cache}\npki_dir: {t}/pki-{name}\nsock_dir: {t}/sock-{name}\nlog_file: {t}/log-{name}\n\
         file_roots:\n  base:\n    - {b1}\n    - {b2}\n  dev:\n    - {d}\n{extra}",
        t = t.display(),
        cache = cache.display(),
        b1 = base1.display(),
        b2 = base2.display(),
        d = dev.display(),
    );
    let path = t.join(format!("master-{name}"));
    std::fs::write(&path, &text).unwrap();
    let opts = match brine_core::yaml::load(&text).unwrap() {
        Value::Map(m) => m,
        _ => unreachable!(),
    };
    (path, opts)
}

fn load(pairs: &[(&str, J)]) -> J {
    J::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// The requests compared with Salt (cmd, load).
fn requests() -> Vec<(String, J)> {
    let mut r: Vec<(String, J)> = Vec::new();
    let mut add = |cmd: &str, l: J| r.push((cmd.to_string(), l));
    add("_file_envs", json!({}));
    add("_file_envs", json!({"sources": true}));
    for env in ["base", "dev", "nosuch", "../dev"] {
        for cmd in [
            "_file_list",
            "_file_list_emptydirs",
            "_dir_list",
            "_symlink_list",
        ] {
            add(cmd, load(&[("saltenv", json!(env))]));
        }
    }
    for prefix in ["a", "/a/", "link", "a/b"] {
        for cmd in [
            "_file_list",
            "_file_list_emptydirs",
            "_dir_list",
            "_symlink_list",
        ] {
            add(
                cmd,
                load(&[("saltenv", json!("base")), ("prefix", json!(prefix))]),
            );
        }
    }
    add("_file_list", json!({}));
    add("_symlink_list", json!({}));
    let paths = [
        "top.sls",
        "a/init.sls",
        "a/b/c.txt",
        "a/b/dup.txt",
        "only2.txt",
        "big.bin",
        "link_in",
        "link_dir/b/c.txt",
        "link_out",
        "link_abs_out",
        "link_out_dir/o.txt",
        "a/broken",
        "skip.ign",
        "a",
        "missing.txt",
        "dev.sls",
        "dev.sls?saltenv=dev",
        "./top.sls",
        "a//b/c.txt",
        "|top.sls",
        "../outside/secret.txt",
        "a/../../outside/secret.txt",
        "..",
        "a/..",
        "/etc/passwd",
        "",
    ];
    for p in paths {
        for env in ["base", "dev", "nosuch"] {
            let l = load(&[("path", json!(p)), ("saltenv", json!(env))]);
            add("_file_find", l.clone());
            add("_file_hash", l.clone());
            add("_file_hash_and_stat", l.clone());
            let mut s = l.clone();
            s["loc"] = json!(0);
            add("_serve_file", s);
        }
    }
    for loc in [0, 1, 262_144, 1_048_576, 1_099_999, 1_100_000, 2_000_000] {
        add(
            "_serve_file",
            json!({"path": "big.bin", "saltenv": "base", "loc": loc}),
        );
    }
    add("_serve_file", json!({"path": "big.bin", "saltenv": "base"}));
    add("_serve_file", json!({"path": "big.bin", "loc": 0}));
    add("_file_hash", json!({"path": "big.bin"}));
    add("_file_hash_and_stat", json!({"saltenv": "base"}));
    add("_file_find", json!({"path": "top.sls"}));
    add("_file_find", json!({"saltenv": "base"}));
    r
}

/// Runs every request through both servers; returns (identical, total).
fn compare(
    py: &Path,
    t: &Path,
    name: &str,
    extra: &str,
    failures: &mut Vec<String>,
) -> (usize, usize) {
    let (conf, mut opts) = master_conf(t, name, extra);
    let reqs = requests();
    let reqfile = t.join(format!("req-{name}.json"));
    std::fs::write(&reqfile, serde_json::to_string(&reqs).unwrap()).unwrap();
    let out = Command::new(py)
        .arg("-c")
        .arg(PY)
        .arg(&conf)
        .arg(&reqfile)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "salt fileserver script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let salt: Vec<J> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(salt.len(), reqs.len());
    opts.insert(Value::str("hash_type"), Value::str("sha256"));
    let fs = FileServer::from_opts(&opts);
    let mut same = 0;
    for ((cmd, l), expect) in reqs.iter().zip(&salt) {
        let lv = match Value::from_json(l) {
            Value::Map(m) => m,
            _ => unreachable!(),
        };
        let ours = match fs.handle(cmd, &lv).expect("a file server command") {
            Ok(v) => json!({"ok": to_j(&v)}),
            Err(e) => json!({"err": e}),
        };
        let equal = match (ours.get("err"), expect.get("err")) {
            (Some(_), Some(_)) => true,
            _ => &ours == expect,
        };
        if equal {
            same += 1;
        } else {
            let short = |j: &J| j.to_string().chars().take(400).collect::<String>();
            failures.push(format!(
                "[{name}] {cmd} {l}\n   salt:  {}\n   brine: {}",
                short(expect),
                short(&ours)
            ));
        }
    }
    (same, reqs.len())
}

/// Read every regular file under `dir` (settles atime under relatime).
fn read_all(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            read_all(&e.path());
        } else if ft.is_file() {
            let _ = std::fs::read(e.path());
        }
    }
}

#[test]
fn fileserver_matches_salt() {
    let Some(py) = salt_python() else { return };
    let t = scratch("vs-salt");
    build_tree(&t);
    // Read every file once so that atime (part of `stat`) is settled before
    // either server stats them.
    read_all(&t);
    let mut failures = Vec::new();
    let (a, n1) = compare(&py, &t, "follow", "", &mut failures);
    let (b, n2) = compare(
        &py,
        &t,
        "nofollow",
        "fileserver_followsymlinks: False\nfile_buffer_size: 262144\nfile_ignore_glob:\n  - '*.ign'\nfile_ignore_regex:\n  - '/deeper'\n",
        &mut failures,
    );
    let (c, n3) = compare(
        &py,
        &t,
        "ignoresymlinks",
        "fileserver_ignoresymlinks: True\nfile_buffer_size: 100000\n",
        &mut failures,
    );
    let (same, total) = (a + b + c, n1 + n2 + n3);
    eprintln!("fileserver vs salt: {same}/{total} identical");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&t);
}

fn m(pairs: &[(&str, Value)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| (Value::str(*k), v.clone()))
        .collect()
}

fn serve(fs: &FileServer, path: &str, env: &str) -> Value {
    let l = m(&[
        ("path", Value::str(path)),
        ("saltenv", Value::str(env)),
        ("loc", Value::Int(0)),
    ]);
    fs.handle("_serve_file", &l).unwrap().unwrap()
}

fn no_file(v: &Value) -> bool {
    v.get("data") == Some(&Value::str("")) && v.get("gzip").is_none()
}

#[test]
fn security_cases() {
    let t = scratch("security");
    build_tree(&t);
    let (_, opts) = master_conf(&t, "sec", "");
    let fs = FileServer::from_opts(&opts);
    // Relative escapes and absolute paths: no data whatever the setting.
    for p in [
        "../outside/secret.txt",
        "a/../../outside/secret.txt",
        "..",
        "/etc/passwd",
        "/",
    ] {
        let r = serve(&fs, p, "base");
        assert!(no_file(&r), "{p} was served: {r:?}");
        let f = fs
            .handle("_file_find", &m(&[("path", Value::str(p))]))
            .unwrap()
            .unwrap();
        assert_eq!(f.get("path"), Some(&Value::str("")), "{p}");
    }
    // Saltenv names are never paths.
    for env in ["../outside", "/", "nosuch", "base/../dev"] {
        assert!(no_file(&serve(&fs, "secret.txt", env)), "{env}");
        assert!(no_file(&serve(&fs, "top.sls", env)), "{env}");
    }
    // Symlinks out of the roots: followed by default (as Salt does) ...
    let r = serve(&fs, "link_out", "base");
    assert_eq!(r.get("data"), Some(&Value::Bytes(b"top secret\n".to_vec())));
    // ... refused with fileserver_followsymlinks off, while links that
    // stay inside still work.
    let (_, mut off) = master_conf(&t, "sec2", "");
    off.insert(Value::str("fileserver_followsymlinks"), Value::Bool(false));
    let fs_off = FileServer::from_opts(&off);
    for p in ["link_out", "link_abs_out", "link_out_dir/o.txt"] {
        assert!(
            no_file(&serve(&fs_off, p, "base")),
            "{p} served with following off"
        );
        let h = fs_off.handle(
            "_file_hash",
            &m(&[("path", Value::str(p)), ("saltenv", Value::str("base"))]),
        );
        assert_eq!(h.unwrap().unwrap(), Value::str(""), "{p}");
    }
    assert_eq!(
        serve(&fs_off, "link_in", "base").get("data"),
        Some(&Value::Bytes(b"hello c\n".to_vec()))
    );
    // `__env__` roots take saltenv names, never paths.
    std::fs::create_dir_all(t.join("envs/feature")).unwrap();
    std::fs::write(t.join("envs/feature/f.sls"), "f: 1\n").unwrap();
    let env_roots = format!(
        "file_roots:\n  __env__:\n    - {}/envs/__env__\n",
        t.display()
    );
    let fs_env = FileServer::from_opts(&match brine_core::yaml::load(&env_roots).unwrap() {
        Value::Map(m) => m,
        _ => unreachable!(),
    });
    let r = serve(&fs_env, "f.sls", "feature");
    assert_eq!(r.get("data"), Some(&Value::Bytes(b"f: 1\n".to_vec())));
    for env in ["../outside", "..", "feature/..", "/tmp"] {
        assert!(no_file(&serve(&fs_env, "secret.txt", env)), "{env}");
        assert!(no_file(&serve(&fs_env, "f.sls", env)), "{env}");
    }
    // A bad `loc` is an error, not a panic.
    let bad = m(&[
        ("path", Value::str("top.sls")),
        ("saltenv", Value::str("base")),
        ("loc", Value::Int(-1)),
    ]);
    assert!(fs.handle("_serve_file", &bad).unwrap().is_err());
    assert!(fs.handle("_not_a_fileserver_cmd", &bad).is_none());
    // A symlink loop is walked once, not forever.
    symlink(".", t.join("base1/loop")).unwrap();
    let l = fs
        .handle("_file_list", &m(&[("saltenv", Value::str("base"))]))
        .unwrap()
        .unwrap();
    let n = l.as_list().unwrap().len();
    assert!(n < 200, "{n} files listed with a loop");
    let _ = std::fs::remove_dir_all(&t);
}

#[test]
fn gzip_chunks_are_valid_gzip() {
    let Some(py) = salt_python() else { return };
    let t = scratch("gzip");
    build_tree(&t);
    let (_, opts) = master_conf(&t, "gz", "");
    let fs = FileServer::from_opts(&opts);
    let big = std::fs::read(t.join("base1/big.bin")).unwrap();
    let mut got = Vec::new();
    let mut loc = 0usize;
    loop {
        let l = m(&[
            ("path", Value::str("big.bin")),
            ("saltenv", Value::str("base")),
            ("loc", Value::Int(loc as i128)),
            ("gzip", Value::Int(5)),
        ]);
        let r = fs.handle("_serve_file", &l).unwrap().unwrap();
        let Some(Value::Bytes(d)) = r.get("data") else {
            break;
        };
        if d.is_empty() {
            assert!(r.get("gzip").is_none());
            break;
        }
        assert_eq!(r.get("gzip"), Some(&Value::Int(5)));
        let plain = gunzip_with_python(&py, d, &t);
        assert!(plain.len() <= brine_master::fileserver::DEFAULT_BUFFER_SIZE);
        loc += plain.len();
        got.extend(plain);
    }
    assert_eq!(got, big);
    let _ = std::fs::remove_dir_all(&t);
}
