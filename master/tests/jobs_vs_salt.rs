//! The job cache against Salt's local_cache returner, both ways:
//! - a cache written by `brine_master::jobs::JobCache` is read by
//!   `salt-run jobs.list_jobs` / `jobs.lookup_jid` (and `brine-run` gives
//!   the same answers);
//! - a cache written by Salt's `local_cache` (prep_jid, save_load,
//!   returner) is read by `JobCache` and `brine-run` with the answers
//!   `salt-run` gives.
//!
//! Skipped, with a message, when `.salt-venv/bin/salt-run` is missing.

use brine_core::value::{Map, Value};
use brine_master::jobs::JobCache;
use std::path::{Path, PathBuf};
use std::process::Command;

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv")
}

fn have_salt() -> bool {
    let ok = venv().join("bin/salt-run").exists();
    if !ok {
        eprintln!("SKIP: .salt-venv/bin/salt-run is missing; not comparing with Salt");
    }
    ok
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brine-jobs-vs-salt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A config dir `<base>/etc` whose master uses `<base>/root`.
fn config(base: &Path) -> PathBuf {
    let etc = base.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    let root = base.join("root");
    std::fs::write(
        etc.join("master"),
        format!(
            "root_dir: {r}\npki_dir: {r}/pki\ncachedir: {r}/cache\nsock_dir: {r}/sock\nlog_file: {r}/log\nuser: root\n",
            r = root.display()
        ),
    )
    .unwrap();
    etc
}

fn copy_tree(src: &Path, dst: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(st.success());
}

/// Run salt-run on a copy of `base` (salt-run records its own runner job
/// in the cache, which must not leak into the next comparison).
fn salt_run(base: &Path, args: &[&str]) -> (String, i32) {
    let copy = base.with_extension(format!("salt{}", rand_suffix()));
    let _ = std::fs::remove_dir_all(&copy);
    copy_tree(base, &copy);
    // The copy's config must point at the copy.
    let etc = config(&copy);
    let out = Command::new(venv().join("bin/salt-run"))
        .arg("-c")
        .arg(&etc)
        .args(args)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&copy);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn brine_run(base: &Path, args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_brine-run"))
        .arg("-c")
        .arg(base.join("etc"))
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn s(x: &str) -> Value {
    Value::str(x)
}

fn map(items: &[(&str, Value)]) -> Value {
    Value::Map(
        items
            .iter()
            .map(|(k, v)| (s(k), v.clone()))
            .collect::<Map>(),
    )
}

/// Write three jobs with JobCache; returns their jids.
fn brine_cache(base: &Path) -> Vec<String> {
    let jc = JobCache::new(&base.join("root/cache"), 24);
    let mut jids = Vec::new();
    // 1: test.ping to m1, m2; m1 answers.
    let j = jc.prep_jid(None).unwrap();
    let load = map(&[
        ("fun", s("test.ping")),
        ("arg", Value::List(vec![])),
        ("tgt", s("*")),
        ("tgt_type", s("glob")),
        ("jid", s(&j)),
        ("user", s("root")),
    ]);
    jc.save_load(&j, &load).unwrap();
    jc.save_minions(&j, &["m2".into(), "m1".into()]).unwrap();
    let r = map(&[
        ("return", Value::Bool(true)),
        ("retcode", Value::Int(0)),
        ("success", Value::Bool(true)),
        ("out", s("nested")),
    ]);
    assert!(jc.save_return(&j, "m1", &r).unwrap());
    jids.push(j);
    // 2: cmd.run with args, kwargs, metadata, a failing minion.
    let j = jc.prep_jid(None).unwrap();
    let load = map(&[
        ("fun", s("cmd.run")),
        (
            "arg",
            Value::List(vec![
                s("false"),
                map(&[("__kwarg__", Value::Bool(true)), ("cwd", s("/tmp"))]),
            ]),
        ),
        ("tgt", Value::List(vec![s("web1"), s("web2")])),
        ("tgt_type", s("list")),
        ("jid", s(&j)),
        ("user", s("sudo_admin")),
        ("metadata", map(&[("ticket", Value::Int(42))])),
    ]);
    jc.save_load(&j, &load).unwrap();
    jc.save_minions(&j, &["web1".into(), "web2".into()])
        .unwrap();
    for (id, rc) in [("web1", 1), ("web2", 0)] {
        let r = map(&[
            ("return", s(&format!("output of {id}\nline 2"))),
            ("retcode", Value::Int(rc)),
            ("success", Value::Bool(rc == 0)),
        ]);
        jc.save_return(&j, id, &r).unwrap();
    }
    jids.push(j);
    // 3: a state run with the highstate outputter and nested data.
    let j = jc.prep_jid(None).unwrap();
    let load = map(&[
        ("fun", s("state.apply")),
        ("arg", Value::List(vec![s("web")])),
        ("tgt", s("db*")),
        ("tgt_type", s("glob")),
        ("jid", s(&j)),
        ("user", s("root")),
    ]);
    jc.save_load(&j, &load).unwrap();
    jc.save_minions(&j, &["db1".into()]).unwrap();
    let state = map(&[(
        "file_|-x_|-/tmp/x_|-managed",
        map(&[
            ("result", Value::Bool(true)),
            ("comment", s("ok")),
            ("changes", map(&[])),
            ("__run_num__", Value::Int(0)),
            ("duration", Value::Float(1.5)),
        ]),
    )]);
    let r = map(&[
        ("return", state),
        ("retcode", Value::Int(0)),
        ("out", s("highstate")),
    ]);
    jc.save_return(&j, "db1", &r).unwrap();
    jids.push(j);
    jids
}

/// Compare salt-run and brine-run on one command; returns 1 when equal.
fn compare(base: &Path, args: &[&str], as_json: bool) -> usize {
    let mut full: Vec<&str> = args.to_vec();
    if as_json {
        full.extend(["--out", "json"]);
    }
    let (so, sc) = salt_run(base, &full);
    let (bo, bc) = brine_run(base, &full);
    assert_eq!(sc, bc, "exit code of {args:?}");
    if as_json {
        assert_eq!(
            json(&so),
            json(&bo),
            "salt-run {args:?}:\n{so}\nbrine-run:\n{bo}"
        );
    } else {
        assert_eq!(so, bo, "salt-run {args:?}");
    }
    1
}

#[test]
fn brine_cache_read_by_salt_run() {
    if !have_salt() {
        return;
    }
    let base = tmpdir("b");
    config(&base);
    let jids = brine_cache(&base);
    let mut n = 0;
    n += compare(&base, &["jobs.list_jobs"], true);
    for j in &jids {
        n += compare(&base, &["jobs.lookup_jid", j], true);
    }
    n += compare(&base, &["jobs.list_job", &jids[1]], true);
    // Default (nested) text for a plain job.
    n += compare(&base, &["jobs.lookup_jid", &jids[0]], false);
    eprintln!("jobs_vs_salt (Brine-written cache): {n} salt-run comparisons equal");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn salt_cache_read_by_brine() {
    if !have_salt() {
        return;
    }
    let base = tmpdir("s");
    let etc = config(&base);
    let script = r#"
import sys, salt.config, salt.loader
opts = salt.config.master_config(sys.argv[1] + '/master')
r = salt.loader.returners(opts, {})
jid = r['local_cache.prep_jid']()
r['local_cache.save_load'](jid, {'fun': 'grains.item', 'arg': ['os', {'__kwarg__': True, 'sanitize': True}], 'tgt': 'm*', 'tgt_type': 'glob', 'jid': jid, 'user': 'root'}, minions=['m1', 'm2', 'm3'])
r['local_cache.returner']({'jid': jid, 'id': 'm1', 'return': {'os': 'Debian'}, 'retcode': 0, 'success': True, 'fun': 'grains.item', 'out': 'nested'})
r['local_cache.returner']({'jid': jid, 'id': 'm2', 'return': {'os': 'Ubuntu'}, 'retcode': 0, 'success': True, 'fun': 'grains.item'})
print(jid)
"#;
    let out = Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(script)
        .arg(&etc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let jc = JobCache::new(&base.join("root/cache"), 24);
    let load = jc.get_load(&jid).expect("load written by Salt");
    assert_eq!(load.get("fun"), Some(&s("grains.item")));
    assert_eq!(
        load.get("Minions"),
        Some(&Value::List(vec![s("m1"), s("m2"), s("m3")]))
    );
    let rets = jc.get_jid(&jid);
    assert_eq!(rets.len(), 2);
    assert_eq!(
        rets[&s("m1")].get("out"),
        Some(&s("nested")),
        "out.p read back"
    );
    assert!(jc.list_jobs().contains_key(&s(&jid)));
    let mut n = 0;
    n += compare(&base, &["jobs.list_jobs"], true);
    n += compare(&base, &["jobs.lookup_jid", &jid], true);
    n += compare(&base, &["jobs.lookup_jid", &jid, "missing=True"], true);
    n += compare(&base, &["jobs.list_job", &jid], true);
    eprintln!("jobs_vs_salt (Salt-written cache): {n} salt-run comparisons equal");
    let _ = std::fs::remove_dir_all(&base);
}
