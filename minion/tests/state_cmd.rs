//! `cmd` states and execution functions against real Salt 3007.8: every
//! case runs through `salt-call --local` (from `SALT_CALL` or the
//! workspace's `.salt-venv`) and through Brine on the same scratch minion
//! config, and the results must be identical once `start_time`,
//! `duration` and `pid` values are dropped. States go through
//! `brine-call state.single` when the runtime answers it, else straight
//! through the state function with a [`StateCall`]. Skipped, with a
//! notice, when Salt is absent.

use brine_core::{Map, Value};
use brine_minion::modules::{roots_client, yamlify_arg, Context};
use brine_minion::states::{lookup, StateCall};
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// A scratch minion: config dir, file_roots with the test scripts.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("brine-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["conf", "root", "files", "pillar"] {
            std::fs::create_dir_all(dir.join(d)).expect("scratch dir");
        }
        let d = dir.display();
        let conf = format!(
            "file_client: local\nid: h3test\nroot_dir: {d}/root\ncachedir: {d}/root/cache\n\
             pki_dir: {d}/root/pki\nsock_dir: {d}/root/sock\nlog_file: {d}/root/log\n\
             file_roots:\n  base: [{d}/files]\npillar_roots:\n  base: [{d}/pillar]\n"
        );
        std::fs::write(dir.join("conf/minion"), conf).expect("config");
        let files = dir.join("files");
        std::fs::write(
            files.join("s.sh"),
            "#!/bin/sh\necho \"n=$# args=$*\"\necho err >&2\nexit ${RC:-0}\n",
        )
        .expect("script");
        std::fs::write(
            files.join("tmpl.sh"),
            "#!/bin/sh\necho 'hello {{ who }} from {{ grains.os_family }}'\n",
        )
        .expect("script");
        std::fs::write(
            files.join("tmpl2.sh"),
            "#!/bin/sh\necho 'hello {{ grains.os_family }}'\n",
        )
        .expect("script");
        std::fs::write(
            files.join("stateful.sh"),
            "#!/bin/sh\necho working\necho 'changed=yes comment=\"did it\" extra=1'\n",
        )
        .expect("script");
        std::fs::write(
            files.join("watch.sls"),
            "a:\n  test.succeed_with_changes: []\nb:\n  cmd.wait:\n    - name: echo watched\n    - watch:\n      - test: a\n\
             c:\n  cmd.run:\n    - name: echo also\n    - watch:\n      - test: a\n\
             d:\n  cmd.wait_script:\n    - source: salt://s.sh\n    - watch:\n      - test: a\n\
             e:\n  cmd.wait:\n    - name: echo changed=yes comment=hi\n    - stateful: True\n    - watch:\n      - test: a\n",
        )
        .expect("sls");
        Scratch { dir }
    }
    fn conf(&self) -> PathBuf {
        self.dir.join("conf")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Run a salt-call-compatible binary, the JSON of `local`.
fn call_json(bin: &Path, conf: &Path, args: &[&str]) -> Value {
    let out = Command::new(bin)
        .arg("--local")
        .arg("-c")
        .arg(conf)
        .args(["--out", "json"])
        .args(args)
        .output()
        .expect("run salt-call");
    let text = String::from_utf8_lossy(&out.stdout);
    let Ok(j) = serde_json::from_str::<serde_json::Value>(&text) else {
        // An error: salt-call prints it on stderr (after any log lines).
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rfind(|l| !l.starts_with('['))
            .unwrap_or_default()
            .to_string();
        return Value::Str(format!("rc={:?} {text}{last}", out.status.code()));
    };
    Value::from_json(&j)
        .get("local")
        .cloned()
        .unwrap_or(Value::Null)
}

/// Drop what differs between runs: timings and pids.
fn scrub(v: &mut Value) {
    if let Value::Map(m) = v {
        m.shift_remove(&Value::from("start_time"));
        m.shift_remove(&Value::from("duration"));
        if let Some(p) = m.get_mut(&Value::from("pid")) {
            *p = Value::Null;
        }
        for (_, x) in m.iter_mut() {
            scrub(x);
        }
    }
}

/// Whether brine-call runs states yet.
fn brine_states_work(conf: &Path) -> bool {
    let out = Command::new(brine_call())
        .args(["--local", "-c"])
        .arg(conf)
        .args(["--out", "json", "state.single", "test.nop", "name=x"])
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).contains("test_|-x_|-x_|-nop"))
        .unwrap_or(false)
}

/// One state through the state function itself (no runtime).
fn direct_state(conf: &Path, fun: &str, args: &[&str], low_extra: Map) -> Value {
    let opts = brine_core::config::load_minion_config(conf).expect("config");
    let ctx = Context::new(opts.clone());
    let client = roots_client(&opts, "file_roots");
    let (module, f) = fun.split_once('.').expect("mod.fun");
    let mut low = Map::default();
    low.insert("state".into(), module.into());
    low.insert("fun".into(), f.into());
    let mut test = false;
    for a in args {
        let (k, v) = a.split_once('=').expect("key=value");
        if k == "test" {
            test = yamlify_arg(v).truthy();
            continue;
        }
        low.insert(Value::from(k), yamlify_arg(v));
    }
    low.insert("__env__".into(), "base".into());
    low.extend(low_extra);
    let running = Map::default();
    let call = StateCall {
        ctx: &ctx,
        low: &low,
        test,
        saltenv: "base",
        files: &client,
        running: &running,
    };
    let sf = lookup(module, f).expect("state function");
    let name = low
        .get(&Value::from("name"))
        .cloned()
        .unwrap_or(Value::Null);
    match (sf.fun)(&call) {
        Ok(r) => Value::Map(r.into_map()),
        Err(e) => {
            let mut m = Map::default();
            m.insert("name".into(), name);
            m.insert("changes".into(), Value::map());
            m.insert("result".into(), Value::Bool(false));
            m.insert("comment".into(), Value::Str(e));
            Value::Map(m)
        }
    }
}

/// The one state result in a `state.single` answer.
fn only_state(v: &Value) -> Value {
    match v {
        Value::Map(m) if m.len() == 1 => m.values().next().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// Keep the keys a state function produces (the runtime adds the rest).
fn state_keys(v: &Value) -> Value {
    let mut out = Map::default();
    if let Value::Map(m) = v {
        for (k, x) in m {
            if matches!(
                k.as_str(),
                Some("name" | "changes" | "result" | "comment" | "warnings")
            ) {
                out.insert(k.clone(), x.clone());
            }
        }
    }
    Value::Map(out)
}

/// `state.single FUN ARGS` through Salt and Brine; both results.
fn compare_state(
    s: &Scratch,
    salt: &Path,
    runtime: bool,
    fun: &str,
    args: &[&str],
) -> (Value, Value) {
    let mut cli = vec!["state.single", fun];
    cli.extend_from_slice(args);
    let mut want = call_json(salt, &s.conf(), &cli);
    scrub(&mut want);
    let got = if runtime {
        let mut g = call_json(&brine_call(), &s.conf(), &cli);
        scrub(&mut g);
        g
    } else {
        want = state_keys(&only_state(&want));
        let mut g = direct_state(&s.conf(), fun, args, Map::default());
        scrub(&mut g);
        g
    };
    (want, got)
}

const STATE_CASES: &[&[&str]] = &[
    &["cmd.run", "name=echo hi; echo err >&2; exit 2"],
    &["cmd.run", "name=echo ok"],
    &["cmd.run", "name=exit 3", "success_retcodes=[3]"],
    &["cmd.run", "name=exit 3", "success_retcodes=3"],
    &[
        "cmd.run",
        "name=echo match-me; exit 4",
        "success_stdout=match-me",
    ],
    &["cmd.run", "name=echo e >&2; exit 5", "success_stderr=e"],
    &["cmd.run", "name=echo hi", "test=True"],
    &[
        "cmd.run",
        "name=echo changed=yes comment=\"all good\"",
        "stateful=True",
    ],
    &[
        "cmd.run",
        "name=echo line1; echo changed=no comment=nothing",
        "stateful=True",
    ],
    &[
        "cmd.run",
        "name=printf 'a\\nb\\nchanged=yes foo=bar'",
        "stateful=True",
    ],
    &[
        "cmd.run",
        "name=printf '{\"changed\": true, \"comment\": \"json\", \"x\": 1}'",
        "stateful=True",
    ],
    &["cmd.run", "name=echo [1]", "stateful=True"],
    &["cmd.run", "name=echo not a pair", "stateful=True"],
    &["cmd.run", "name=true", "stateful=True"],
    &["cmd.run", "name=echo oops >&2", "stateful=True"],
    &["cmd.run", "name=echo hi", "stateful=True", "test=True"],
    &[
        "cmd.run",
        "name=echo hi",
        "stateful=[{test_name: echo testing}]",
        "test=True",
    ],
    &["cmd.run", "name=pwd", "cwd=/tmp"],
    &["cmd.run", "name=pwd", "cwd=/nonexistent-brine"],
    &["cmd.run", "name=echo $FOO", "env={FOO: bar}"],
    &[
        "cmd.run",
        "name=echo $FOO $BAR",
        "env=[{FOO: bar}, {BAR: baz}]",
    ],
    &["cmd.run", "name=echo $FOO", "env=nope"],
    &[
        "cmd.run",
        "name=echo secret; echo e >&2",
        "hide_output=True",
    ],
    &["cmd.run", "name=sleep 5", "timeout=1"],
    &[
        "cmd.run",
        "name=sleep 5",
        "timeout=1",
        "ignore_timeout=True",
    ],
    &["cmd.run", "name=id -un; echo $USER", "runas=nobody"],
    &["cmd.run", "name=umask", "umask=077"],
    &["cmd.run", "name=echo $0", "shell=/bin/sh"],
    &["cmd.run", "name=cat", "stdin=from stdin"],
    &[
        "cmd.run",
        "name=echo $PATH | cut -d: -f1",
        "prepend_path=/opt/brine-bin",
    ],
    &["cmd.run", "name=nonexistent-brine-command"],
    &["cmd.run", "name=echo x", "creates=/etc/passwd"],
    &["cmd.run", "name=echo x", "creates=/nonexistent-brine"],
    &["cmd.run", "name=echo x", "unless=true"],
    &["cmd.run", "name=echo x", "onlyif=false"],
    &["cmd.run", "name=echo x", "runas=no-such-user-brine"],
    &["cmd.run", "name=echo $A", "env={A: 1}"],
    &["cmd.run", "name=echo x; exit 1", "output_loglevel=quiet"],
    &[
        "cmd.run",
        "name=echo $0 && false",
        "shell=/bin/sh",
        "ignore_retcode=True",
    ],
    &["cmd.wait", "name=echo x"],
    &["cmd.watch", "name=echo x"],
    &["cmd.wait_script", "name=echo x"],
    &["cmd.script", "name=myscript", "source=salt://s.sh"],
    &["cmd.script", "name=myscript a b", "source=salt://s.sh"],
    &[
        "cmd.script",
        "name=myscript",
        "source=salt://s.sh",
        "args=x y",
    ],
    &[
        "cmd.script",
        "name=myscript",
        "source=salt://s.sh",
        "env={RC: 3}",
    ],
    &["cmd.script", "name=salt://s.sh a b"],
    &["cmd.script", "name=salt://s.sh"],
    &["cmd.script", "name=salt://missing.sh"],
    &[
        "cmd.script",
        "name=t",
        "source=salt://tmpl.sh",
        "template=jinja",
        "context={who: world}",
    ],
    &[
        "cmd.script",
        "name=t",
        "source=salt://tmpl.sh",
        "template=jinja",
        "defaults={who: def}",
    ],
    &[
        "cmd.script",
        "name=t",
        "source=salt://stateful.sh",
        "stateful=True",
    ],
    &["cmd.script", "name=t", "source=salt://s.sh", "test=True"],
    &[
        "cmd.script",
        "name=t",
        "source=salt://s.sh",
        "cwd=/nonexistent-brine",
    ],
    &["cmd.script", "name=t", "source=salt://s.sh", "context=[1]"],
    &[
        "cmd.script",
        "name=t",
        "source=salt://s.sh",
        "hide_output=True",
    ],
];

#[test]
fn cmd_states_match_salt() {
    let Some(salt) = salt_call() else {
        eprintln!("salt-call not found: skipping");
        return;
    };
    let s = Scratch::new("state-cmd");
    let runtime = brine_states_work(&s.conf());
    eprintln!("through brine-call state.single: {runtime}");
    let mut failures = Vec::new();
    for case in STATE_CASES {
        let (fun, args) = (case[0], &case[1..]);
        let (want, got) = compare_state(&s, &salt, runtime, fun, args);
        if want != got {
            failures.push(format!(
                "{fun} {args:?}\n  salt:  {}\n  brine: {}",
                want.to_json(),
                got.to_json()
            ));
        }
    }
    eprintln!(
        "cmd states: {}/{} identical to Salt",
        STATE_CASES.len() - failures.len(),
        STATE_CASES.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `cmd.wait`/`cmd.run` watching a changed state run through `mod_watch`.
#[test]
fn cmd_mod_watch_matches_salt() {
    let Some(salt) = salt_call() else {
        eprintln!("salt-call not found: skipping");
        return;
    };
    let s = Scratch::new("state-cmd-watch");
    let mut want = call_json(&salt, &s.conf(), &["state.apply", "watch"]);
    scrub(&mut want);
    if brine_states_work(&s.conf()) {
        let mut got = call_json(&brine_call(), &s.conf(), &["state.apply", "watch"]);
        scrub(&mut got);
        assert_eq!(want.to_json(), got.to_json());
        return;
    }
    for (tag, sfun, name) in [
        ("cmd_|-b_|-echo watched_|-wait", "wait", "echo watched"),
        ("cmd_|-c_|-echo also_|-run", "run", "echo also"),
    ] {
        let w = state_keys(want.get(tag).expect("salt ran the watcher"));
        let mut extra = Map::default();
        extra.insert("sfun".into(), sfun.into());
        extra.insert("__id__".into(), Value::from(&tag[5..6]));
        let name_arg = format!("name={name}");
        let mut got = direct_state(&s.conf(), "cmd.mod_watch", &[name_arg.as_str()], extra);
        scrub(&mut got);
        assert_eq!(w.to_json(), got.to_json(), "{tag}");
    }
}

const EXEC_CASES: &[&[&str]] = &[
    &[
        "cmd.run_all",
        "echo out; echo err >&2; exit 3",
        "python_shell=True",
    ],
    &["cmd.run_all", "echo a; echo b"],
    &["cmd.run_all", "sleep 5", "timeout=1"],
    &[
        "cmd.run_all",
        "sleep 5; echo x",
        "timeout=1",
        "python_shell=True",
    ],
    &[
        "cmd.run_all",
        "echo $FOO; pwd; umask",
        "env={FOO: bar}",
        "cwd=/tmp",
        "umask=027",
        "python_shell=True",
    ],
    &[
        "cmd.run_all",
        "echo $FOO",
        "env=[{FOO: listed}]",
        "python_shell=True",
    ],
    &[
        "cmd.run_all",
        "id -un; echo $HOME $USER; pwd",
        "runas=nobody",
        "python_shell=True",
    ],
    &[
        "cmd.run_all",
        "exit 7",
        "success_retcodes=[7]",
        "python_shell=True",
    ],
    &[
        "cmd.run_all",
        "echo x; exit 7",
        "success_stdout=x",
        "python_shell=True",
    ],
    &["cmd.run_all", "echo hidden", "hide_output=True"],
    &["cmd.run_all", "cat", "stdin=line1\\nline2"],
    &["cmd.run_all", "echo $0", "shell=/bin/sh"],
    &["cmd.run_all", "pwd", "cwd=relative"],
    &["cmd.run_all", "true", "umask=0"],
    &["cmd.run_all", "true", "umask=abc"],
    &[
        "cmd.run_all",
        "echo $PATH",
        "prepend_path=/opt/p",
        "python_shell=True",
    ],
    &["cmd.run_all", "env", "clean_env=True", "env={A: b}"],
    &["cmd.run", "echo out; echo err >&2", "python_shell=True"],
    &["cmd.run", "echo hidden", "hide_output=True"],
    &[
        "cmd.run_stdout",
        "echo out; echo err >&2",
        "python_shell=True",
    ],
    &[
        "cmd.run_stderr",
        "echo out; echo err >&2",
        "python_shell=True",
    ],
    &[
        "cmd.run_stderr",
        "echo err >&2",
        "python_shell=True",
        "hide_output=True",
    ],
    &["cmd.retcode", "exit 4", "python_shell=True"],
    &["cmd.retcode", "false", "ignore_retcode=True"],
    &["cmd.shell", "echo $((1+2)); echo b"],
    &["cmd.which", "sh"],
    &["cmd.which", "no-such-binary-brine"],
    &["cmd.has_exec", "sh"],
    &["cmd.has_exec", "no-such-binary-brine"],
    &["cmd.script", "salt://s.sh", "args=a b"],
    &["cmd.script", "salt://s.sh", "args=a b", "python_shell=True"],
    &["cmd.script", "salt://s.sh", "env={RC: 2}"],
    &["cmd.script", "salt://missing.sh"],
    &["cmd.script", "salt://tmpl2.sh", "template=jinja"],
    &["cmd.script_retcode", "salt://s.sh", "env={RC: 5}"],
    &["cmd.script_retcode", "salt://missing.sh"],
];

#[test]
fn cmd_exec_functions_match_salt() {
    let Some(salt) = salt_call() else {
        eprintln!("salt-call not found: skipping");
        return;
    };
    let s = Scratch::new("exec-cmd");
    let mut failures = Vec::new();
    for case in EXEC_CASES {
        let mut want = call_json(&salt, &s.conf(), case);
        let mut got = call_json(&brine_call(), &s.conf(), case);
        scrub(&mut want);
        scrub(&mut got);
        if want != got {
            failures.push(format!(
                "{case:?}\n  salt:  {}\n  brine: {}",
                want.to_json(),
                got.to_json()
            ));
        }
    }
    eprintln!(
        "cmd functions: {}/{} identical to Salt",
        EXEC_CASES.len() - failures.len(),
        EXEC_CASES.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A timeout kills the whole process group, not just the shell.
#[test]
fn timeout_kills_the_process_group() {
    let ctx = Context::new(Value::map());
    let marker = format!("brine-timeout-{}", std::process::id());
    let mut kw = Map::default();
    kw.insert("python_shell".into(), Value::Bool(true));
    kw.insert("timeout".into(), Value::Int(1));
    let cmd = format!("sh -c 'exec -a {marker} sleep 30' & sleep 30");
    let ret =
        brine_minion::modules::cmd::run_all(&ctx, vec![Value::Str(cmd)], kw).expect("run_all");
    assert_eq!(ret.get("retcode"), Some(&Value::Int(1)));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let left = Command::new("pgrep")
        .args(["-f", &marker])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    assert!(!left, "a process of the timed-out group survived");
}
