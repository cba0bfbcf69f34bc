//! Shared harness of the account/cron/mount/sysctl/docker state tests:
//! run a sequence of state calls with real Salt 3007.8 (`salt-call --local
//! state.single`) and with Brine, each inside its own private mount
//! namespace (`unshare -m`) whose /etc, /home, /var/spool, /var/log and
//! /root are throw-away overlays, so that useradd, crontab & co change a
//! copy and never this machine. Brine runs through `brine-call
//! state.single` when that works, else the state functions are called in
//! process by this same test binary (test `harness_child`, driven by the
//! `BRINE_H5_STEP` environment variable).
//!
//! Included by each `state_*.rs` test with `#[path]`; also compiled on its
//! own as an empty test target.
#![allow(dead_code)]

use brine_core::fileclient::LocalFileClient;
use brine_core::value::{Map, Value};
use brine_minion::modules::Context;
use brine_minion::states;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One state call: `fun` ("user.present") and its arguments (with `name`).
pub struct Step {
    pub fun: String,
    pub args: serde_json::Value,
    /// Run with `test=True`.
    pub test: bool,
    /// An execution function called with `words` instead of a state.
    pub exec: Option<Vec<String>>,
    /// An SLS text applied with `state.apply` (all its results compared).
    pub sls: Option<String>,
}

/// A whole SLS applied with `state.apply`.
pub fn sls_step(text: &str) -> Step {
    Step {
        fun: "state.apply".into(),
        args: serde_json::Value::Null,
        test: false,
        exec: None,
        sls: Some(text.into()),
    }
}

/// An execution function call (`user.info h5u`), compared as its output.
pub fn exec_step(fun: &str, words: &[&str]) -> Step {
    Step {
        fun: fun.into(),
        args: serde_json::Value::Null,
        test: false,
        exec: Some(words.iter().map(|w| w.to_string()).collect()),
        sls: None,
    }
}

/// A step from a function name and a JSON object of arguments.
pub fn step(fun: &str, args: serde_json::Value) -> Step {
    Step {
        fun: fun.into(),
        args,
        test: false,
        exec: None,
        sls: None,
    }
}

/// The same step in test mode.
pub fn test_step(fun: &str, args: serde_json::Value) -> Step {
    Step {
        fun: fun.into(),
        args,
        test: true,
        exec: None,
        sls: None,
    }
}

/// What one side produced: per step `{name, changes, result, comment}`
/// (or the raw output when it was not a state result), and the output of
/// the inspection commands.
#[derive(Debug)]
pub struct Outcome {
    pub results: Vec<serde_json::Value>,
    pub files: String,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Real salt-call: `$SALT_CALL` or the workspace venv.
pub fn salt_call() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SALT_CALL") {
        return Some(PathBuf::from(p));
    }
    let p = workspace().join(".salt-venv/bin/salt-call");
    p.exists().then_some(p)
}

/// Whether the harness can run here: root, unshare, overlayfs, salt-call.
pub fn available() -> Result<(), String> {
    if unsafe_uid() != 0 {
        return Err("needs root (useradd & co in a private mount namespace)".into());
    }
    if salt_call().is_none() {
        return Err("no salt-call (set SALT_CALL or create .salt-venv)".into());
    }
    let ok = Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err("unshare -m does not work here".into());
    }
    Ok(())
}

fn unsafe_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(1)
}

fn scratch(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "brine-h5-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("srv")).expect("scratch dir");
    d
}

fn minion_config(dir: &Path) -> PathBuf {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).expect("conf dir");
    let root = dir.join("root");
    let text = format!(
        "id: h5test\nfile_client: local\nroot_dir: {r}\ncachedir: {r}/cache\npki_dir: {r}/pki\nsock_dir: {r}/sock\nlog_file: {r}/log\nlog_level_logfile: quiet\nfile_roots:\n  base: [{srv}]\npillar_roots:\n  base: [{srv}/pillar]\n",
        r = root.display(),
        srv = dir.join("srv").display()
    );
    std::fs::write(conf.join("minion"), text).expect("minion config");
    conf
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The `key=value` words of a step, values as JSON (which YAML reads back).
fn cli_args(step: &Step) -> Vec<String> {
    let mut out = vec![step.fun.clone()];
    if let Some(words) = &step.exec {
        out.extend(words.iter().cloned());
        return out;
    }
    if let Some(obj) = step.args.as_object() {
        for (k, v) in obj {
            out.push(format!("{k}={v}"));
        }
    }
    if step.test {
        out.push("test=True".into());
    }
    out
}

/// Whether brine-call has a working `state.single`.
fn brine_call_ready() -> bool {
    if std::env::var("BRINE_H5_INPROC").is_ok() {
        return false;
    }
    let dir = scratch("probe");
    let conf = minion_config(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_brine-call"))
        .args(["--local", "-c"])
        .arg(&conf)
        .args([
            "--out",
            "json",
            "state.single",
            "user.absent",
            "name=brine-h5-nobody",
        ])
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("is not present"))
}

/// Which Brine runner the last [`compare`] used.
pub fn brine_mode() -> &'static str {
    if brine_call_ready() {
        "brine-call state.single"
    } else {
        "in-process state functions"
    }
}

/// Run `steps` then `inspect` (a shell snippet whose output is compared)
/// in a fresh namespace, with `salt` (true) or Brine. `setup` runs first,
/// inside the namespace. `files` are written into the file_roots.
pub fn run_side(
    salt: bool,
    setup: &str,
    steps: &[Step],
    inspect: &str,
    files: &[(&str, &[u8])],
) -> Outcome {
    let dir = scratch(if salt { "salt" } else { "brine" });
    let conf = minion_config(&dir);
    for (rel, data) in files {
        let p = dir.join("srv").join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("srv dir");
        }
        std::fs::write(p, data).expect("srv file");
    }
    let use_call = !salt && brine_call_ready();
    let mut script = String::from("set +e\n");
    script.push_str(&format!(
        "export H5SRV={}\n",
        sh_quote(&dir.join("srv").to_string_lossy())
    ));
    script.push_str(setup);
    script.push('\n');
    for (i, st) in steps.iter().enumerate() {
        let out = dir.join(format!("step{i}.json"));
        if salt || use_call || st.exec.is_some() {
            let exe = if salt {
                salt_call().unwrap_or_default()
            } else {
                PathBuf::from(env!("CARGO_BIN_EXE_brine-call"))
            };
            let mut words: Vec<String> = cli_args(st).iter().map(|w| sh_quote(w)).collect();
            let mut single = if st.exec.is_some() {
                ""
            } else {
                "state.single"
            };
            // `state.single ... opts=...` is a TypeError in Salt (the
            // keyword collides with its own `opts`): go through an SLS file.
            if let Some(text) = &st.sls {
                let sls = format!("h5step{i}");
                std::fs::write(dir.join("srv").join(format!("{sls}.sls")), text).expect("sls file");
                single = "state.apply";
                words = vec![sls];
            } else if st.exec.is_none() && st.args.get("opts").is_some() {
                let sls = format!("h5step{i}");
                let mut args = Vec::new();
                let mut id = serde_json::Value::Null;
                if let Some(obj) = st.args.as_object() {
                    for (k, v) in obj {
                        if k == "name" {
                            id = v.clone();
                        } else {
                            args.push(serde_json::json!({ k: v }));
                        }
                    }
                }
                let key = id
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| id.to_string());
                let doc = serde_json::json!({ key: { st.fun.clone(): args } });
                std::fs::write(dir.join("srv").join(format!("{sls}.sls")), doc.to_string())
                    .expect("sls file");
                single = "state.apply";
                words = vec![sls];
                if st.test {
                    words.push("test=True".into());
                }
            }
            script.push_str(&format!(
                "{} --local -c {} --out json {single} {} > {} 2>/dev/null\n",
                sh_quote(&exe.to_string_lossy()),
                sh_quote(&conf.to_string_lossy()),
                words.join(" "),
                sh_quote(&out.to_string_lossy()),
            ));
        } else {
            let exe = std::env::current_exe().expect("test binary");
            let payload = serde_json::json!({"fun": st.fun, "args": st.args, "test": st.test,
                "conf": conf.to_string_lossy(), "out": out.to_string_lossy()});
            script.push_str(&format!(
                "BRINE_H5_STEP={} {} --exact harness_child --nocapture -q >/dev/null 2>&1\n",
                sh_quote(&payload.to_string()),
                sh_quote(&exe.to_string_lossy()),
            ));
        }
    }
    let files_out = dir.join("files.txt");
    script.push_str(&format!(
        "( {inspect} ) > {} 2>&1\nexit 0\n",
        sh_quote(&files_out.to_string_lossy())
    ));
    let ns = dir.join("ns.sh");
    std::fs::write(
        &ns,
        "set -e\nT=$(mktemp -d /tmp/brine-ovl.XXXXXX)\nmount -t tmpfs tmpfs $T\n\
         for d in /etc /home /var/spool /var/log /root; do\n  [ -d $d ] || continue\n  \
         n=$(echo $d | tr / _)\n  mkdir -p $T/u$n $T/w$n\n  \
         mount -t overlay overlay -o lowerdir=$d,upperdir=$T/u$n,workdir=$T/w$n $d\ndone\n\
         sh \"$1\"\nrc=$?\numount -l $T 2>/dev/null; rmdir $T 2>/dev/null\nexit $rc\n",
    )
    .expect("ns script");
    let body = dir.join("body.sh");
    std::fs::write(&body, script).expect("body script");
    let st = Command::new("unshare")
        .args(["-m", "-n", "--propagation", "private", "sh"])
        .arg(&ns)
        .arg(&body)
        .status()
        .expect("unshare");
    assert!(st.success(), "namespace script failed: {st}");
    let mut results = Vec::new();
    for (i, st) in steps.iter().enumerate() {
        let text = std::fs::read_to_string(dir.join(format!("step{i}.json"))).unwrap_or_default();
        results.push(if st.sls.is_some() {
            normalize_all(&text)
        } else if st.exec.is_some() {
            serde_json::from_str::<serde_json::Value>(&text)
                .map(|v| v.get("local").cloned().unwrap_or(v))
                .unwrap_or_else(|_| serde_json::Value::String(format!("unparsable output: {text}")))
        } else {
            normalize(&text)
        });
    }
    let files = std::fs::read_to_string(&files_out).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    Outcome { results, files }
}

/// Every result of a `state.apply`, in run order, as [`normalize`] does.
fn normalize_all(text: &str) -> serde_json::Value {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return serde_json::Value::String(format!("unparsable output: {text}"));
    };
    let Some(local) = v.get("local").and_then(|l| l.as_object()) else {
        return v;
    };
    let mut items: Vec<(i64, String, serde_json::Value)> = local
        .iter()
        .map(|(tag, ret)| {
            let mut out = serde_json::Map::new();
            for k in ["name", "changes", "result", "comment"] {
                if let Some(x) = ret.get(k) {
                    out.insert(k.into(), x.clone());
                }
            }
            let n = ret["__run_num__"].as_i64().unwrap_or(0);
            (n, tag.clone(), serde_json::Value::Object(out))
        })
        .collect();
    items.sort_by_key(|(n, _, _)| *n);
    serde_json::Value::Array(
        items
            .into_iter()
            .map(|(_, tag, r)| serde_json::json!({ "tag": tag, "ret": r }))
            .collect(),
    )
}

/// `{"local": {tag: ret}}` to `{name, changes, result, comment}`.
fn normalize(text: &str) -> serde_json::Value {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return serde_json::Value::String(format!("unparsable output: {text}"));
    };
    let Some(local) = v.get("local") else {
        return v;
    };
    let Some(ret) = local.as_object().and_then(|m| m.values().next()) else {
        return local.clone();
    };
    if !ret.is_object() {
        return local.clone();
    }
    let mut out = serde_json::Map::new();
    for k in ["name", "changes", "result", "comment", "warnings"] {
        if let Some(x) = ret.get(k) {
            out.insert(k.into(), x.clone());
        }
    }
    serde_json::Value::Object(out)
}

/// Run the steps with Salt and with Brine; assert both agree. Returns the
/// number of compared steps (plus one for the files).
pub fn compare(setup: &str, steps: &[Step], inspect: &str, files: &[(&str, &[u8])]) -> usize {
    let salt = run_side(true, setup, steps, inspect, files);
    let brine = run_side(false, setup, steps, inspect, files);
    if std::env::var("BRINE_H5_SHOW").is_ok() {
        for (i, s) in salt.results.iter().enumerate() {
            eprintln!("step {i} {}: {s}", steps[i].fun);
        }
        eprintln!("files:\n{}", salt.files);
    }
    for (i, (s, b)) in salt.results.iter().zip(&brine.results).enumerate() {
        assert!(
            steps[i].exec.is_some() || steps[i].sls.is_some() || s.get("comment").is_some(),
            "step {i}: Salt gave no state result: {s}"
        );
        assert_eq!(
            b, s,
            "step {i} ({} {}) differs from Salt\nbrine: {b:#}\nsalt:  {s:#}",
            steps[i].fun, steps[i].args
        );
    }
    assert_eq!(brine.files, salt.files, "resulting files differ from Salt");
    steps.len() + 1
}

/// The in-process Brine side of one step (see module doc).
pub fn child() {
    let Ok(payload) = std::env::var("BRINE_H5_STEP") else {
        return;
    };
    let p: serde_json::Value = serde_json::from_str(&payload).expect("step payload");
    let conf = p["conf"].as_str().unwrap_or_default();
    let out = p["out"].as_str().unwrap_or_default();
    let fun = p["fun"].as_str().unwrap_or_default();
    let (module, name) = fun.split_once('.').unwrap_or((fun, ""));
    let opts = brine_minion_opts(conf);
    let files = brine_minion::modules::roots_client(&opts, "file_roots");
    let ctx = Context::new(opts);
    let mut low = Map::default();
    if let Value::Map(args) = Value::from_json(&p["args"]) {
        for (k, v) in args {
            low.insert(k, v);
        }
    }
    let id = low
        .get(&Value::from("name"))
        .cloned()
        .unwrap_or(Value::Null);
    low.insert(Value::from("state"), Value::from(module));
    low.insert(Value::from("fun"), Value::from(name));
    low.insert(Value::from("__id__"), id.clone());
    let running = Map::default();
    let call = states::StateCall {
        ctx: &ctx,
        low: &low,
        test: p["test"].as_bool().unwrap_or(false),
        saltenv: "base",
        files: &files as &dyn brine_core::fileclient::FileClient,
        running: &running,
    };
    let ret = match states::lookup(module, name) {
        None => serde_json::json!(format!("no state {fun}")),
        Some(f) => match (f.fun)(&call) {
            Ok(r) => r
                .into_map()
                .iter()
                .fold(serde_json::Map::new(), |mut m, (k, v)| {
                    m.insert(k.key_string(), v.to_json());
                    m
                })
                .into(),
            Err(e) => {
                serde_json::json!({"name": id.to_json(), "changes": {}, "result": false, "comment": e})
            }
        },
    };
    let tag = format!(
        "{module}_|-{}_|-{}_|-{name}",
        id.key_string(),
        id.key_string()
    );
    let doc = serde_json::json!({"local": {tag: ret}});
    std::fs::write(out, doc.to_string()).expect("write step result");
    let _ = LocalFileClient::new(Default::default());
}

fn brine_minion_opts(conf: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(conf).join("minion")).unwrap_or_default();
    brine_core::yaml::load(&text).unwrap_or_else(|_| Value::map())
}
