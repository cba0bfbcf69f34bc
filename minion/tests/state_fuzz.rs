//! Malformed state data never panics: for every state function Brine
//! registers, every parameter Salt 3007.8 declares for it (read from Salt's
//! own argspec in `.salt-venv`) is given a value of the wrong type, one
//! state per (function, parameter). All of them go into one SLS applied
//! with `test=True` (no changes to this machine), followed by a state that
//! must still run. Each malformed state must come back as a failed state
//! with a comment, not as a crash; parameters Brine does not read (Windows,
//! SELinux, download tuning...) are listed in `IGNORED` and may succeed.

use brine_minion::states::{MODULES, STATE_INTERNAL_KEYWORDS};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Parameters that are accepted and ignored on Linux by Salt and Brine, or
/// whose Salt type is "anything" (a map is a valid value for them).
const IGNORED: &[&str] = &[
    "kwargs",
    "attrs",
    "selinux",
    "tmp_dir",
    "tmp_ext",
    "encoding",
    "encoding_errors",
    "verify_ssl",
    "use_etag",
    "signature",
    "source_hash_sig",
    "signed_by_any",
    "signed_by_all",
    "keyring",
    "gnupghome",
    "keep_source",
    "use_vt",
    "output_loglevel",
    "hide_output",
    "prepend_path",
    "root",
    "password",
    "runas_password",
    "bg",
    "saltenv",
    "__env__",
    "context",
    "defaults",
    "env",
    "sources",
    "pkgs",
    "kwargs",
    "source_hash_name",
    "follow_symlinks",
    "backupname",
    "force",
    "allow_symlink",
    "children_only",
    "max_depth",
    "require",
    "skip_suggestions",
    "pkg_verify",
    "normalize",
    "ignore_epoch",
    "update_holds",
    "allow_updates",
    "reinstall",
    "resolve_capabilities",
    "report_reboot_exit_codes",
    "test",
    "result",
    "changes",
    "comment",
    "warnings",
    "failhard",
    "unless",
    "onlyif",
    "creates",
    "config",
    "backup",
    "show_changes",
    "tmp_dir",
    "stateful",
    "extra_mount_translate_options",
    "sources",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn brine_call() -> PathBuf {
    std::env::var_os("BRINE_CALL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/debug/brine-call"))
}

/// Salt's parameters of `module.fun` as `[name, required]`, or `None` when
/// Salt has no such function.
fn salt_params(funs: &[String]) -> serde_json::Value {
    let py = root().join(".salt-venv/bin/python");
    assert!(py.exists(), "{} missing: run scripts/test.sh", py.display());
    let script = format!(
        r#"
import inspect, importlib, json
out = {{}}
for full in json.loads({funs:?}):
    m, f = full.split(".", 1)
    try:
        fn = getattr(importlib.import_module("salt.states." + m), f)
        out[full] = [
            [n, p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
            for n, p in inspect.signature(fn).parameters.items()
        ]
    except Exception:
        out[full] = None
print(json.dumps(out))
"#,
        funs = serde_json::to_string(funs).unwrap()
    );
    let out = Command::new(py).arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn wrong_types_fail_cleanly_and_the_run_goes_on() {
    let bin = brine_call();
    assert!(
        bin.exists(),
        "{} missing: cargo build -p brine-minion --bin brine-call",
        bin.display()
    );
    let mut funs = Vec::new();
    for (module, table) in MODULES {
        for f in *table {
            if f.name == "mod_watch" || *module == "test" {
                continue;
            }
            funs.push(format!("{module}.{}", f.name));
        }
    }
    let params = salt_params(&funs);
    let dir = std::env::temp_dir().join(format!("brine-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["conf", "states", "pillar", "root", "target"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let d = dir.display();
    std::fs::write(
        dir.join("conf/minion"),
        format!(
            "file_client: local\nid: fuzz\nroot_dir: {d}/root\ncachedir: {d}/root/cache\npki_dir: {d}/root/pki\nsock_dir: {d}/root/sock\nlog_file: {d}/root/log\nfile_roots:\n  base: [{d}/states]\npillar_roots:\n  base: [{d}/pillar]\n"
        ),
    )
    .unwrap();
    // One state per (function, parameter); the wrong type is a nested map
    // (a list for `name`, which Salt turns into a string).
    let mut sls = String::new();
    let mut expect_fail = Vec::new();
    let mut n = 0;
    for full in &funs {
        let Some(list) = params[full].as_array() else {
            continue;
        };
        let (module, fun) = full.split_once('.').unwrap();
        let names: Vec<(&str, bool)> = list
            .iter()
            .filter_map(|p| Some((p[0].as_str()?, p[1].as_bool()?)))
            .collect();
        for &(p, _) in &names {
            // Requisites and other runtime keywords are checked when the
            // SLS is compiled (a malformed one fails the whole run, as in
            // Salt), not by the state function.
            if p == "name" || STATE_INTERNAL_KEYWORDS.contains(&p) {
                continue;
            }
            n += 1;
            let id = format!("fuzz_{n}");
            sls.push_str(&format!(
                "{id}:\n  {module}.{fun}:\n    - name: {d}/target/f{n}\n    - {p}:\n        bad:\n          nested: [1, 2]\n"
            ));
            // The other required parameters get a plain string, so that
            // the malformed one is what the state meets.
            for &(other, required) in &names {
                if required && other != p && other != "name" {
                    sls.push_str(&format!("    - {other}: x\n"));
                }
            }
            // Windows-only parameters are ignored on Linux, by Salt too.
            if !IGNORED.contains(&p) && !p.starts_with("win_") {
                expect_fail.push((id, full.clone(), p.to_string()));
            }
        }
    }
    sls.push_str("still_runs:\n  test.succeed_without_changes:\n    - name: after the fuzz\n");
    std::fs::write(dir.join("states/fuzz.sls"), &sls).unwrap();
    let out = Command::new(&bin)
        .args(["--local", "-c"])
        .arg(dir.join("conf"))
        .args(["--out", "json", "state.apply", "fuzz", "test=True"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "brine-call panicked:\n{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}); stderr:\n{stderr}"));
    let Some(ret) = json["local"].as_object() else {
        panic!("not state results: {}", json["local"]);
    };
    // Results of states rejected before running carry no `__id__` (as in
    // Salt): find them by their tag.
    let by_id = |id: &str| {
        let part = format!("_|-{id}_|-");
        ret.iter()
            .find(|(tag, _)| tag.contains(&part))
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no result for {id} (SLS kept in {})", dir.display()))
    };
    let ok = by_id("still_runs");
    assert_eq!(ok["result"], true, "the run did not go on: {ok}");
    let mut problems = Vec::new();
    for r in ret.values() {
        let comment = r["comment"].as_str().unwrap_or("");
        if comment.contains("panicked") || comment.contains("An exception occurred") {
            problems.push(format!("{}: crashed: {comment}", r["name"]));
        }
    }
    for (id, full, p) in &expect_fail {
        let r = by_id(id);
        let comment = r["comment"].as_str().unwrap_or("");
        if r["result"] != false || comment.trim().is_empty() {
            problems.push(format!(
                "{full} with a map for '{p}': result {} comment {comment:?}",
                r["result"]
            ));
        }
    }
    println!(
        "fuzz: {n} malformed states, {} required to fail",
        expect_fail.len()
    );
    if problems.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        problems.is_empty(),
        "{} of {} malformed states misbehaved:\n{}",
        problems.len(),
        n,
        problems.join("\n")
    );
}
