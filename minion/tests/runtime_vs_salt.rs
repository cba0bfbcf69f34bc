//! The state runtime against real Salt 3007.8: each case writes an SLS tree
//! (only `test.*` states plus shell `onlyif`/`unless`/`check_cmd`) into a
//! scratch directory, runs `salt-call --local --out json` and `brine-call`
//! with the same arguments, and requires the same exit code, the same
//! results (without `start_time`/`duration`) and the same run order.
//!
//! Known, deliberate differences are normalised before comparing: an
//! exception comment is compared up to "An exception occurred in this
//! state: " (Salt appends a Python traceback), and for an aborted run
//! (invalid keyword arguments) only the stderr message is compared (Salt
//! also prints the function's docstring).
//!
//! `SALT_CALL` overrides the salt-call path (default: the workspace's
//! `.salt-venv/bin/salt-call`); the tests are skipped with a notice when it
//! is absent.

use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn salt_call() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SALT_CALL") {
        return Some(PathBuf::from(p));
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin/salt-call");
    p.exists().then_some(p)
}

fn brine_call() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_brine-call"))
}

/// A scratch minion: config, state and pillar trees.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str, files: &[(&str, &str)], minion: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "brine-rt-{}-{}-{}",
            name,
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        for sub in ["states", "pillar", "root"] {
            std::fs::create_dir_all(dir.join(sub)).expect("scratch dir");
        }
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("dir");
            std::fs::write(&p, text).expect("write");
        }
        let d = dir.display();
        let config = format!(
            "id: minion\nfile_client: local\nroot_dir: {d}/root\ncachedir: {d}/root/cache\n\
             pki_dir: {d}/root/pki\nsock_dir: {d}/root/sock\nlog_file: {d}/root/log\n\
             file_roots:\n  base: [{d}/states]\npillar_roots:\n  base: [{d}/pillar]\n{minion}"
        );
        std::fs::write(dir.join("minion"), config).expect("config");
        Scratch { dir }
    }

    fn run(&self, prog: &Path, flags: &[&str], args: &[&str]) -> Output {
        Command::new(prog)
            .arg("--local")
            .arg("-c")
            .arg(&self.dir)
            .args(["--out", "json"])
            .args(flags)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const EXCEPTION: &str = "An exception occurred in this state: ";

/// Drop timings; cut exception comments to their prefix.
fn normalize(v: &J) -> J {
    match v {
        J::Object(m) => J::Object(
            m.iter()
                .filter(|(k, _)| *k != "start_time" && *k != "duration")
                .map(|(k, x)| {
                    let x = match x {
                        J::String(s) if k == "comment" && s.starts_with(EXCEPTION) => {
                            J::String(EXCEPTION.to_string())
                        }
                        other => normalize(other),
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        J::Array(l) => J::Array(l.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// The run order: the tags of `{"local": {...}}`.
fn tags(v: &J) -> Vec<String> {
    v.get("local")
        .and_then(J::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The "Passed invalid arguments" line of an aborted run.
fn invalid_line(o: &Output) -> Option<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .find(|l| l.starts_with("Passed invalid arguments"))
        .map(str::to_string)
}

/// Run `args` through both programs and require the same answer.
fn same(name: &str, files: &[(&str, &str)], args: &[&str], minion: &str, flags: &[&str]) {
    let Some(salt) = salt_call() else {
        eprintln!("skipping {name}: salt-call not found (set SALT_CALL)");
        return;
    };
    let scratch = Scratch::new(name, files, minion);
    let s = scratch.run(&salt, flags, args);
    let b = scratch.run(&brine_call(), flags, args);
    let stdout = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        s.status.code(),
        b.status.code(),
        "{name}: exit codes differ\nsalt: {}\nbrine: {}\nbrine stderr: {}",
        stdout(&s),
        stdout(&b),
        String::from_utf8_lossy(&b.stderr)
    );
    let (sj, bj) = (
        serde_json::from_slice::<J>(&s.stdout),
        serde_json::from_slice::<J>(&b.stdout),
    );
    match (sj, bj) {
        (Ok(sj), Ok(bj)) => {
            let (sn, bn) = (normalize(&sj), normalize(&bj));
            assert_eq!(
                sn,
                bn,
                "{name}: results differ\nsalt:  {}\nbrine: {}",
                serde_json::to_string_pretty(&sn).unwrap_or_default(),
                serde_json::to_string_pretty(&bn).unwrap_or_default()
            );
            assert_eq!(tags(&sj), tags(&bj), "{name}: run order differs");
        }
        (Err(_), _) => {
            let line = invalid_line(&s);
            assert!(
                line.is_some(),
                "{name}: salt printed no JSON: {}",
                stdout(&s)
            );
            assert_eq!(line, invalid_line(&b), "{name}: error messages differ");
        }
        (Ok(sj), Err(e)) => panic!("{name}: brine printed no JSON ({e}); salt: {sj}"),
    }
}

macro_rules! case {
    ($name:ident, $files:expr, $args:expr) => {
        case!($name, $files, $args, "", &[]);
    };
    ($name:ident, $files:expr, $args:expr, $minion:expr) => {
        case!($name, $files, $args, $minion, &[]);
    };
    ($name:ident, $files:expr, $args:expr, $minion:expr, $flags:expr) => {
        #[test]
        fn $name() {
            same(stringify!($name), $files, $args, $minion, $flags);
        }
    };
}

case!(
    basic_results,
    &[(
        "states/a.sls",
        "one:\n  test.succeed_with_changes: []\ntwo:\n  test.fail_without_changes: []\n\
         three:\n  test.nop:\n    - require:\n      - test: two\n\
         four:\n  test.configurable_test_state:\n    - changes: true\n    - comment: [a, b]\n    - warnings: careful\n\
         five:\n  test.fail_with_changes:\n    - comment: custom\n\
         six:\n  test.show_notification:\n    - text: hello\n\
         seven:\n  test.show_notification: []\n"
    )],
    &["state.apply", "a"]
);

case!(
    retcode_passthrough,
    &[("states/a.sls", "one:\n  test.fail_without_changes: []\n")],
    &["state.apply", "a"],
    "",
    &["--retcode-passthrough"]
);

case!(
    retcode_passthrough_success,
    &[("states/a.sls", "one:\n  test.succeed_without_changes: []\n")],
    &["state.sls", "a"],
    "",
    &["--retcode-passthrough"]
);

case!(
    require_forms,
    &[
        (
            "states/r.sls",
            "include:\n  - r2\n\
             a:\n  test.succeed_without_changes:\n    - require:\n      - test: b\n\
             b:\n  test.fail_without_changes: []\n\
             c:\n  test.succeed_without_changes:\n    - require_any:\n      - test: b\n      - test: d\n\
             d:\n  test.succeed_without_changes: []\n\
             e:\n  test.succeed_without_changes:\n    - require:\n      - sls: r2\n\
             f:\n  test.nop:\n    - require:\n      - id: d\n      - test: 'r2*'\n\
             g:\n  test.nop:\n    - require_any:\n      - test: b\n"
        ),
        ("states/r2.sls", "r2a:\n  test.succeed_with_changes: []\n"),
    ],
    &["state.apply", "r"]
);

case!(
    missing_requisites,
    &[(
        "states/m.sls",
        "f:\n  test.nop:\n    - require:\n      - test: nothere\n      - id: alsonot\n\
         g:\n  test.nop:\n    - watch:\n      - test: ghost\n    - onchanges:\n      - sls: nosls\n\
         h:\n  test.nop:\n    - onfail:\n      - test: ghost\n    - prereq:\n      - test: ghost2\n"
    )],
    &["state.apply", "m"]
);

case!(
    watch_and_mod_watch,
    &[(
        "states/w.sls",
        "changed:\n  test.succeed_with_changes: []\nsame:\n  test.succeed_without_changes: []\n\
         failing:\n  test.fail_without_changes: []\n\
         w1:\n  test.succeed_without_changes:\n    - watch:\n      - test: changed\n      - test: same\n\
         w2:\n  test.succeed_with_changes:\n    - watch:\n      - test: changed\n\
         w3:\n  test.succeed_without_changes:\n    - watch:\n      - test: same\n\
         w4:\n  test.succeed_without_changes:\n    - watch_any:\n      - test: changed\n      - test: failing\n\
         w5:\n  test.succeed_without_changes:\n    - watch:\n      - test: failing\n\
         w6:\n  test.succeed_without_changes:\n    - comment: custom\n    - watch:\n      - test: changed\n\
         w7:\n  test.succeed_without_changes:\n    - unless: 'true'\n    - watch:\n      - test: changed\n"
    )],
    &["state.apply", "w"]
);

case!(
    onchanges_onfail,
    &[(
        "states/o.sls",
        "changed:\n  test.succeed_with_changes: []\nsame:\n  test.succeed_without_changes: []\n\
         bad:\n  test.fail_without_changes: []\n\
         oc1:\n  test.succeed_without_changes:\n    - onchanges:\n      - test: changed\n\
         oc2:\n  test.succeed_without_changes:\n    - onchanges:\n      - test: same\n\
         oc3:\n  test.succeed_without_changes:\n    - onchanges_any:\n      - test: same\n      - test: changed\n\
         oc4:\n  test.succeed_without_changes:\n    - onchanges:\n      - test: same\n      - test: changed\n\
         of1:\n  test.succeed_without_changes:\n    - onfail:\n      - test: bad\n\
         of2:\n  test.succeed_without_changes:\n    - onfail:\n      - test: same\n\
         of3:\n  test.succeed_without_changes:\n    - onfail_any:\n      - test: same\n      - test: bad\n\
         of4:\n  test.succeed_without_changes:\n    - onfail_all:\n      - test: same\n      - test: bad\n\
         of5:\n  test.succeed_without_changes:\n    - onfail:\n      - test: same\n      - test: bad\n\
         of6:\n  test.succeed_without_changes:\n    - onfail:\n      - test: bad\n    - onchanges:\n      - test: changed\n"
    )],
    &["state.apply", "o"]
);

case!(
    onfail_stop_false_succeeds,
    &[(
        "states/o.sls",
        "bad:\n  test.fail_without_changes: []\n\
         handler:\n  test.succeed_without_changes:\n    - onfail:\n      - test: bad\n    - onfail_stop: False\n"
    )],
    &["state.apply", "o"]
);

case!(
    onfail_stop_false_handler_fails,
    &[(
        "states/o.sls",
        "bad:\n  test.fail_without_changes: []\n\
         handler:\n  test.fail_without_changes:\n    - onfail:\n      - test: bad\n    - onfail_stop: False\n"
    )],
    &["state.apply", "o"]
);

case!(
    prereq,
    &[(
        "states/p.sls",
        "pre1:\n  test.succeed_without_changes:\n    - prereq:\n      - test: changer\n\
         changer:\n  test.succeed_with_changes: []\n\
         pre2:\n  test.succeed_without_changes:\n    - prereq:\n      - test: nochange\n\
         nochange:\n  test.succeed_without_changes: []\n\
         pre3:\n  test.fail_without_changes:\n    - prereq:\n      - test: changer2\n\
         changer2:\n  test.succeed_with_changes: []\n\
         pre4:\n  test.succeed_with_changes:\n    - prereq_in:\n      - test: changer3\n\
         changer3:\n  test.succeed_with_changes: []\n"
    )],
    &["state.apply", "p"]
);

case!(
    prereq_test_mode,
    &[(
        "states/p.sls",
        "pre1:\n  test.succeed_with_changes:\n    - prereq:\n      - test: changer\n\
         changer:\n  test.succeed_with_changes: []\n"
    )],
    &["state.apply", "p", "test=True"]
);

case!(
    listen,
    &[(
        "states/l.sls",
        "changed:\n  test.succeed_with_changes: []\nsame:\n  test.succeed_without_changes: []\n\
         l1:\n  test.succeed_without_changes:\n    - listen:\n      - test: changed\n\
         l2:\n  test.succeed_without_changes:\n    - listen:\n      - test: same\n\
         l3:\n  test.succeed_without_changes:\n    - listen:\n      - test: ghost\n\
         l4:\n  test.succeed_without_changes:\n    - listen_in:\n      - test: changed\n\
         l5:\n  test.succeed_without_changes:\n    - listen:\n      - changed\n"
    )],
    &["state.apply", "l"]
);

case!(
    in_forms_and_use,
    &[(
        "states/i.sls",
        "base:\n  test.succeed_with_changes:\n    - require_in:\n      - test: t1\n    - watch_in:\n      - test: t2\n\
         \x20   - onchanges_in:\n      - test: t3\n\
         bad:\n  test.fail_without_changes:\n    - onfail_in:\n      - test: t4\n\
         t1:\n  test.succeed_without_changes: []\nt2:\n  test.succeed_without_changes: []\n\
         t3:\n  test.succeed_without_changes: []\nt4:\n  test.succeed_without_changes: []\n\
         u1:\n  test.configurable_test_state:\n    - changes: False\n    - comment: usedcomment\n\
         u2:\n  test.configurable_test_state:\n    - use:\n      - test: u1\n"
    )],
    &["state.apply", "i"]
);

case!(
    recursive_requisite,
    &[(
        "states/m.sls",
        "a:\n  test.succeed_without_changes:\n    - require:\n      - test: b\n\
         b:\n  test.succeed_without_changes:\n    - require:\n      - test: a\n"
    )],
    &["state.apply", "m"]
);

case!(
    recursive_sls_requisite,
    &[(
        "states/m.sls",
        "a:\n  test.succeed_without_changes:\n    - require:\n      - sls: m\n\
         b:\n  test.succeed_without_changes: []\n"
    )],
    &["state.apply", "m"]
);

case!(
    failhard_state,
    &[(
        "states/f.sls",
        "a:\n  test.succeed_without_changes: []\n\
         b:\n  test.fail_without_changes:\n    - failhard: True\n\
         c:\n  test.succeed_without_changes: []\n\
         l:\n  test.succeed_without_changes:\n    - listen:\n      - test: a\n"
    )],
    &["state.apply", "f"]
);

case!(
    failhard_global,
    &[(
        "states/f.sls",
        "a:\n  test.succeed_without_changes: []\nb:\n  test.fail_without_changes: []\n\
         c:\n  test.succeed_without_changes: []\n"
    )],
    &["state.apply", "f"],
    "failhard: True\n"
);

case!(
    failhard_in_requisite,
    &[(
        "states/f.sls",
        "a:\n  test.succeed_without_changes:\n    - require:\n      - test: b\n\
         b:\n  test.fail_without_changes:\n    - failhard: True\n\
         c:\n  test.succeed_without_changes: []\n"
    )],
    &["state.apply", "f"]
);

case!(
    failhard_test_mode,
    &[(
        "states/f.sls",
        "b:\n  test.fail_without_changes:\n    - failhard: True\nc:\n  test.nop: []\n"
    )],
    &["state.apply", "f", "test=True"]
);

case!(
    order,
    &[(
        "states/o.sls",
        "z:\n  test.succeed_without_changes:\n    - order: 1\n\
         y:\n  test.succeed_without_changes:\n    - order: last\n\
         x:\n  test.succeed_without_changes:\n    - order: first\n\
         w:\n  test.succeed_without_changes:\n    - names: [n1, n3, n2]\n\
         v:\n  test.succeed_without_changes:\n    - order: -1\n\
         u:\n  test.succeed_without_changes:\n    - order: 2\n    - require:\n      - test: v\n"
    )],
    &["state.apply", "o"]
);

case!(
    retry,
    &[(
        "states/r.sls",
        "r1:\n  test.fail_without_changes:\n    - retry:\n        attempts: 3\n        interval: 0\n\
         r2:\n  test.succeed_without_changes:\n    - retry:\n        attempts: 3\n        interval: 0\n\
         r3:\n  test.succeed_without_changes:\n    - retry:\n        attempts: 2\n        until: False\n        interval: 0\n\
         r4:\n  test.fail_without_changes:\n    - retry:\n        attempts: 2\n        interval: 1\n        splay: 0\n"
    )],
    &["state.apply", "r"]
);

case!(
    retry_test_mode,
    &[(
        "states/r.sls",
        "r1:\n  test.fail_without_changes:\n    - retry:\n        attempts: 3\n        interval: 0\n\
         r2:\n  test.succeed_with_changes:\n    - retry: True\n"
    )],
    &["state.apply", "r", "test=True"]
);

case!(
    test_mode,
    &[(
        "states/t.sls",
        "a:\n  test.succeed_with_changes: []\nb:\n  test.fail_with_changes: []\n\
         c:\n  test.configurable_test_state:\n    - changes: False\n\
         d:\n  test.configurable_test_state:\n    - result: False\n    - allow_test_mode_failure: True\n\
         e:\n  test.succeed_without_changes:\n    - watch:\n      - test: a\n\
         f:\n  test.fail_without_changes: []\n\
         g:\n  test.succeed_without_changes:\n    - onchanges:\n      - test: a\n"
    )],
    &["state.test", "t"]
);

case!(
    test_mode_from_config,
    &[("states/t.sls", "a:\n  test.succeed_with_changes: []\n")],
    &["state.sls", "t"],
    "test: True\n"
);

case!(
    test_false_overrides_config,
    &[("states/t.sls", "a:\n  test.succeed_with_changes: []\n")],
    &["state.sls", "t", "test=False"],
    "test: True\n"
);

case!(
    pillar_override,
    &[
        (
            "states/p.sls",
            "a:\n  test.succeed_without_changes:\n    - comment: {{ pillar.get('foo', 'none') }} {{ pillar.get('bar') }}\n"
        ),
        ("pillar/top.sls", "base:\n  '*':\n    - p\n"),
        ("pillar/p.sls", "foo: fromfile\nbar: 1\n"),
    ],
    &["state.apply", "p", "pillar={\"foo\": \"over\"}"]
);

case!(
    pillar_yaml_override,
    &[
        (
            "states/p.sls",
            "a:\n  test.succeed_without_changes:\n    - comment: {{ pillar['foo']['x'] }}\n"
        ),
        ("pillar/top.sls", "base:\n  '*':\n    - p\n"),
        ("pillar/p.sls", "foo: {x: 1, y: 2}\n"),
    ],
    &["state.apply", "p", "pillar={foo: {x: yaml}}"]
);

case!(
    pillar_not_a_dict,
    &[("states/p.sls", "a:\n  test.nop: []\n")],
    &["state.apply", "p", "pillar=notadict"]
);

case!(
    pillar_render_error,
    &[
        ("states/p.sls", "a:\n  test.nop: []\n"),
        ("pillar/top.sls", "base:\n  '*':\n    - broken\n"),
        ("pillar/broken.sls", "foo: {{ nope.nope }}\n"),
    ],
    &["state.apply", "p"]
);

case!(
    exclude_ids_and_sls,
    &[
        (
            "states/e.sls",
            "include:\n  - e2\na:\n  test.succeed_without_changes: []\nb:\n  test.succeed_without_changes: []\n"
        ),
        ("states/e2.sls", "c:\n  test.nop: []\n"),
    ],
    &["state.sls", "e", "exclude=[{id: a}, {sls: e2}]"]
);

case!(
    exclude_string,
    &[
        (
            "states/e.sls",
            "include:\n  - e2\na:\n  test.succeed_without_changes: []\n"
        ),
        ("states/e2.sls", "c:\n  test.nop: []\n"),
    ],
    &["state.sls", "e", "exclude=e2"]
);

case!(
    single,
    &[],
    &[
        "state.single",
        "test.succeed_with_changes",
        "name=x",
        "comment=hi"
    ]
);

case!(
    single_test_mode,
    &[],
    &[
        "state.single",
        "test.succeed_with_changes",
        "name=x",
        "test=True"
    ]
);

case!(
    single_missing_state,
    &[],
    &["state.single", "test.nope", "name=x"]
);

case!(
    single_bad_function_name,
    &[],
    &["state.single", "testnope", "name=x"]
);

case!(
    single_invalid_kwarg,
    &[],
    &[
        "state.single",
        "test.configurable_test_state",
        "name=x",
        "foo=1"
    ]
);

case!(
    invalid_kwargs_abort_the_run,
    &[(
        "states/k.sls",
        "a:\n  test.configurable_test_state:\n    - foo: 1\n    - bar: 2\n"
    )],
    &["state.apply", "k"]
);

case!(
    missing_state_functions,
    &[(
        "states/k.sls",
        "a:\n  test.nope: []\nb:\n  nomod.x: []\nc:\n  test.nop:\n    - require:\n      - test: a\n"
    )],
    &["state.apply", "k"]
);

case!(
    highstate_apply,
    &[
        ("states/top.sls", "base:\n  '*':\n    - a\n"),
        ("states/a.sls", "a:\n  test.succeed_with_changes: []\n"),
    ],
    &["state.apply"]
);

case!(
    highstate_no_match,
    &[
        ("states/top.sls", "base:\n  'nomatch':\n    - a\n"),
        ("states/a.sls", "a:\n  test.nop: []\n"),
    ],
    &["state.highstate"]
);

case!(
    highstate_exclude,
    &[
        ("states/top.sls", "base:\n  '*':\n    - a\n"),
        ("states/a.sls", "a:\n  test.nop: []\nb:\n  test.nop: []\n"),
    ],
    &["state.highstate", "exclude=[{id: b}]"]
);

case!(missing_sls, &[], &["state.apply", "nothere"]);

case!(
    terse,
    &[(
        "states/a.sls",
        "a:\n  test.succeed_without_changes: []\nb:\n  test.succeed_with_changes: []\n"
    )],
    &["state.apply", "a", "terse=True"]
);

case!(
    run_checks,
    &[(
        "states/c.sls",
        "a:\n  test.succeed_with_changes:\n    - onlyif:\n      - fun: test.true\n    - unless:\n      - fun: test.false\n\
         b:\n  test.succeed_with_changes:\n    - unless:\n      - fun: test.true\n\
         c:\n  test.succeed_with_changes:\n    - onlyif:\n      - fun: cmd.run\n        cmd: 'false'\n\
         d:\n  test.succeed_with_changes:\n    - check_cmd:\n      - 'true'\n\
         e:\n  test.succeed_with_changes:\n    - creates:\n      - /tmp\n      - /nonexistent\n\
         f:\n  test.succeed_with_changes:\n    - onlyif:\n      - 'true'\n      - 'false'\n\
         g:\n  test.succeed_with_changes:\n    - unless:\n      - 'true'\n      - 'false'\n\
         h:\n  test.succeed_with_changes:\n    - onlyif:\n      - fun: nosuch.fun\n\
         i:\n  test.succeed_with_changes:\n    - onlyif: 'false'\n    - unless: 'false'\n    - creates: /tmp\n\
         j:\n  test.succeed_with_changes:\n    - check_cmd: 'true'\n\
         k:\n  test.fail_with_changes:\n    - check_cmd:\n      - 'true'\n\
         l:\n  test.succeed_with_changes:\n    - onlyif:\n      - fun: test.echo\n        text: ''\n\
         m:\n  test.succeed_with_changes:\n    - unless:\n      - fun: test.echo\n        args: [x]\n\
         n:\n  test.succeed_with_changes:\n    - onlyif:\n      - nofun: here\n\
         o:\n  test.succeed_with_changes:\n    - onlyif: 'true'\n    - creates: /tmp\n"
    )],
    &["state.apply", "c"]
);

/// Two state runs never interleave: the second gets Salt's conflict answer
/// (as real salt-call does, compared by shape since PID and job id differ),
/// `state.running` reports the first, and `queue=True` waits for it.
#[test]
fn run_lock_conflict_and_queue() {
    let scratch = Scratch::new(
        "lock",
        &[(
            "states/slow.sls",
            "slow:\n  test.succeed_without_changes:\n    - unless: 'sleep 3; false'\n",
        )],
        "",
    );
    let first = Command::new(brine_call())
        .arg("--local")
        .arg("-c")
        .arg(&scratch.dir)
        .args(["--out", "json", "state.apply", "slow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let pat = regex::Regex::new(&format!(
        r#"^The function "state.apply" is running as PID {} and was started at \d{{4}}, [A-Z][a-z]{{2}} \d\d \d\d:\d\d:\d\d\.\d{{6}} with jid \d{{20}}$"#,
        first.id()
    ))
    .expect("regex");
    let second = scratch.run(&brine_call(), &[], &["state.apply", "slow"]);
    assert_eq!(second.status.code(), Some(1));
    let j: J = serde_json::from_slice(&second.stdout).expect("json");
    let msg = j["local"][0].as_str().unwrap_or_default().to_string();
    assert!(pat.is_match(&msg), "conflict message: {msg}");
    let running = scratch.run(&brine_call(), &[], &["state.running"]);
    let j: J = serde_json::from_slice(&running.stdout).expect("json");
    assert_eq!(j["local"][0].as_str(), Some(msg.as_str()));
    let single = scratch.run(&brine_call(), &[], &["state.single", "test.nop", "name=x"]);
    assert_eq!(single.status.code(), Some(1));
    let queued = scratch.run(
        &brine_call(),
        &[],
        &["state.single", "test.nop", "name=x", "queue=True"],
    );
    assert_eq!(queued.status.code(), Some(0));
    let j: J = serde_json::from_slice(&queued.stdout).expect("json");
    assert_eq!(j["local"]["test_|-x_|-x_|-nop"]["result"], J::Bool(true));
    let out = first.wait_with_output().expect("first");
    assert_eq!(out.status.code(), Some(0));
    let after = scratch.run(&brine_call(), &[], &["state.running"]);
    let j: J = serde_json::from_slice(&after.stdout).expect("json");
    assert_eq!(j["local"], J::Array(vec![]));
}

/// Replace what differs from run to run in the highstate text (start
/// times, durations, the total run time).
fn mask_times(text: &str) -> String {
    let times = regex::Regex::new(
        r"(Started:) +[0-9:.]+|(Duration:) +[0-9.]+ ms|(Total run time:) +[0-9.]+ m?s",
    )
    .expect("regex");
    times
        .replace_all(text, |c: &regex::Captures| {
            let label = c
                .get(1)
                .or(c.get(2))
                .or(c.get(3))
                .map_or("", |m| m.as_str());
            format!("{label} T")
        })
        .into_owned()
}

/// The default (`highstate`) output of a state run, with and without
/// colour and in test mode, is Salt's text.
#[test]
fn highstate_text_output() {
    let Some(salt) = salt_call() else {
        eprintln!("skipping highstate_text_output: salt-call not found");
        return;
    };
    let scratch = Scratch::new(
        "text",
        &[(
            "states/h.sls",
            "one:\n  test.succeed_with_changes: []\ntwo:\n  test.fail_without_changes:\n    - name: two-name\n\
             three:\n  test.nop:\n    - require:\n      - test: two\n\
             four:\n  test.configurable_test_state:\n    - comment: [a, b]\n\
             \x20   - warnings: a warning that is fairly long so that it should wrap around the eighty column limit of textwrap indeed\n\
             five:\n  test.succeed_without_changes: []\n",
        )],
        "",
    );
    for extra in [&[][..], &["--force-color"][..], &["test=True"][..]] {
        let run = |prog: &Path| {
            let out = Command::new(prog)
                .arg("--local")
                .arg("-c")
                .arg(&scratch.dir)
                .args(extra.iter().filter(|a| a.starts_with("--")))
                .args(["state.apply", "h"])
                .args(extra.iter().filter(|a| !a.starts_with("--")))
                .output()
                .expect("run");
            (
                out.status.code(),
                mask_times(&String::from_utf8_lossy(&out.stdout)),
            )
        };
        let (s, b) = (run(&salt), run(&brine_call()));
        assert_eq!(s, b, "highstate output differs for {extra:?}");
    }
}

case!(
    mock_mode,
    &[(
        "states/m.sls",
        "a:\n  test.fail_without_changes: []\nb:\n  test.succeed_with_changes:\n    - require:\n      - test: a\n\
         c:\n  test.nope: []\n"
    )],
    &["state.apply", "m", "mock=True"]
);

case!(
    prereq_failures_and_chains,
    &[
        (
            "states/p.sls",
            "include:\n  - p2\n\
             pre1:\n  test.succeed_without_changes:\n    - prereq:\n      - test: changer\n\
             changer:\n  test.fail_with_changes: []\n\
             pre2:\n  test.succeed_with_changes:\n    - prereq:\n      - test: c2\n\
             c2:\n  test.succeed_with_changes:\n    - require:\n      - test: base\n\
             base:\n  test.succeed_with_changes: []\n\
             pre3:\n  test.succeed_without_changes:\n    - prereq:\n      - test: c3\n\
             c3:\n  test.succeed_without_changes:\n    - watch:\n      - test: base\n\
             pre4:\n  test.succeed_without_changes:\n    - prereq:\n      - sls: p2\n"
        ),
        ("states/p2.sls", "p2a:\n  test.succeed_with_changes: []\n"),
    ],
    &["state.apply", "p"]
);

case!(
    mixed_requisites,
    &[(
        "states/w.sls",
        "a:\n  test.succeed_with_changes:\n    - watch_in:\n      - test: b\n\
         b:\n  test.succeed_without_changes:\n    - prereq:\n      - test: c\n\
         c:\n  test.succeed_with_changes:\n    - onchanges_any:\n      - test: a\n      - test: b\n\
         d:\n  test.succeed_without_changes:\n    - onfail_any:\n      - test: a\n\
         e:\n  test.fail_with_changes:\n    - require_in:\n      - test: f\n\
         f:\n  test.nop:\n    - onfail:\n      - test: e\n\
         multi:\n  test.succeed_with_changes:\n    - names:\n      - n1\n      - n2:\n        - comment: second\n\
         dep:\n  test.nop:\n    - require:\n      - test: n2\n\
         dep2:\n  test.nop:\n    - watch:\n      - test: multi\n"
    )],
    &["state.apply", "w"]
);
