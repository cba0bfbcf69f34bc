//! The `brine` command line against Salt's: argument parsing (target,
//! target type, function(s), conditioned arguments, compound commands,
//! batch and timeout options, parser exit codes) compared with
//! `salt.utils.parsers.SaltCMDOptionParser`, batch sizes with
//! `salt.cli.batch.Batch.get_bnum`, and the returns summary with
//! `SaltCMD._print_returns_summary`, all run in one Python process.
//!
//! The comparisons are skipped, with a message, when `.salt-venv` is
//! missing; the checks that need no Salt run always.

use brine_core::value::{Map, Value};
use brine_master::cli::salt::{
    batch_size, no_response_text, parse_job, progress_line, returns_summary, Printer, SaltArgs,
};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::Command;

fn venv_python() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin/python");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: .salt-venv/bin/python is missing; not comparing with Salt");
        None
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brine-cli-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const ARGVS: &[&[&str]] = &[
    &["*", "test.ping"],
    &["-L", "a,b", "test.arg", "1", "x=2", "[1, 2]", "{a: 1}"],
    &["-L", "a b  c", "test.ping"],
    &["-G", "os:Debian", "cmd.run", "ls -l", "cwd=/tmp"],
    &["-E", "web[0-9]+", "test.echo", "hello world"],
    &[
        "-C",
        "G@os:Debian and web*",
        "state.apply",
        "web",
        "test=True",
    ],
    &["-I", "role:db", "pillar.get", "role"],
    &["-P", "os:Deb.*", "grains.item", "os", "osrelease"],
    &["-N", "group1", "test.ping"],
    &["-S", "10.0.0.0/8", "test.ping"],
    &["-J", "role:d.*", "test.ping"],
    &[
        "*",
        "test.arg",
        "20261129041213123456",
        "None",
        "true",
        "1.5",
        "a=b=c",
        "2x=3",
    ],
    &["*", "test.arg", "'quoted'", "x=", "y= 1", "z={a: [1, 2]}"],
    &["*", "test.ping,test.echo", ",", "hi"],
    &["*", "test.ping,test.echo", "hi"],
    &["*", "test.echo,test.echo", "a,b"],
    &[
        "*",
        "test.ping,test.echo,test.arg",
        ",",
        "hi",
        ",",
        "x",
        "y=1",
    ],
    &[
        "*",
        "test.ping,test.echo",
        "--args-separator",
        "::",
        "::",
        "hi",
    ],
    &["-b", "10%", "-t", "3", "*", "test.ping"],
    &["--batch-size", "2", "web*", "test.ping"],
    &["*"],
];

/// What both sides report for one argv.
fn brine_parse(argv: &[&str]) -> serde_json::Value {
    let full: Vec<&str> = ["brine", "-c", "/nonexistent"]
        .iter()
        .chain(argv)
        .copied()
        .collect();
    let a = match SaltArgs::try_parse_from(&full) {
        Ok(a) => a,
        Err(_) => return serde_json::json!({"exit": 64}),
    };
    match parse_job(&a) {
        Err((code, _)) => serde_json::json!({"exit": code}),
        Ok(job) => serde_json::json!({
            "tgt": job.tgt.to_json(),
            "fun": job.fun.to_json(),
            "arg": Value::List(job.arg).to_json(),
            "tgt_type": job.tgt_type,
            "batch": a.batch.unwrap_or_default(),
            "timeout": a.timeout.unwrap_or(5),
        }),
    }
}

const SALT_SCRIPT: &str = r#"
import json, sys, io, contextlib
import salt.utils.parsers, salt._logging, salt.cli.batch, salt.cli.salt
for n in ['set_logging_options_dict', 'freeze_logging_options_dict', 'setup_logging',
          'setup_temp_handler', 'setup_console_handler', 'setup_logfile_handler',
          'setup_extended_logging', 'shutdown_temp_handler']:
    if hasattr(salt._logging, n):
        setattr(salt._logging, n, lambda *a, **k: None)
req = json.load(sys.stdin)
out = {'argv': [], 'bnum': [], 'summary': []}
for argv in req['argv']:
    p = salt.utils.parsers.SaltCMDOptionParser()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            p.parse_args(['-c', req['config']] + argv)
        out['argv'].append({'tgt': p.config['tgt'], 'fun': p.config['fun'], 'arg': p.config['arg'],
                            'tgt_type': p.selected_target_option or 'glob',
                            'batch': p.options.batch or '', 'timeout': p.options.timeout})
    except SystemExit as e:
        out['argv'].append({'exit': e.code})
class B:
    pass
for spec, n in req['bnum']:
    b = B(); b.opts = {'batch': spec}; b.minions = ['m%d' % i for i in range(n)]; b.quiet = True
    out['bnum'].append(salt.cli.batch.Batch.get_bnum(b))
class O:
    pass
for ret, verbose in req['summary']:
    s = B(); s.options = O(); s.options.verbose = verbose
    s._get_retcode = lambda r: salt.cli.salt.SaltCMD._get_retcode(s, r)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        salt.cli.salt.SaltCMD._print_returns_summary(s, ret)
    out['summary'].append(buf.getvalue())
import salt.output.no_return as nr
nr.__opts__ = {'color': False}
out['no_return'] = nr.output({'m1': req['no_return']})
print(json.dumps(out))
"#;

const BNUM: &[(&str, usize)] = &[
    ("1", 5),
    ("3", 5),
    ("10", 3),
    ("0", 4),
    ("10%", 10),
    ("10%", 25),
    ("10%", 3),
    ("50%", 5),
    ("33%", 10),
    ("100%", 7),
    ("1%", 1),
    ("%25", 8),
    ("2.5%", 100),
    ("x", 4),
    ("", 4),
    ("5%x", 4),
];

fn summary_cases() -> Vec<(serde_json::Value, bool)> {
    let nr = "Minion did not return. [No response]\nThe minions may not have all finished running";
    vec![
        (
            serde_json::json!({"m1": {"ret": true, "retcode": 0}, "m2": {"ret": "x", "retcode": 2}}),
            false,
        ),
        (
            serde_json::json!({"m1": {"ret": true}, "m2": {"ret": nr, "retcode": 1, "out": "no_return"}, "m3": {"ret": "Minion did not return. [Not connected]"}}),
            true,
        ),
        (serde_json::json!({}), true),
    ]
}

#[test]
fn parsing_and_batch_match_salt() {
    let Some(py) = venv_python() else {
        return;
    };
    let dir = tmpdir("salt");
    std::fs::write(
        dir.join("master"),
        format!(
            "root_dir: {r}\npki_dir: {r}/pki\ncachedir: {r}/cache\nsock_dir: {r}/sock\nlog_file: {r}/log\n",
            r = dir.display()
        ),
    )
    .unwrap();
    let req = serde_json::json!({
        "config": dir,
        "argv": ARGVS,
        "bnum": BNUM,
        "no_return": no_response_text("20261129041213123456"),
        "summary": summary_cases().into_iter().map(|(r, v)| serde_json::json!([r, v])).collect::<Vec<_>>(),
    });
    let mut child = Command::new(py)
        .arg("-c")
        .arg(SALT_SCRIPT)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(req.to_string().as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let salt: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| {
            panic!(
                "Salt side failed ({e}): {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut n = 0;
    for (i, argv) in ARGVS.iter().enumerate() {
        assert_eq!(brine_parse(argv), salt["argv"][i], "argv {argv:?}");
        n += 1;
    }
    for (i, (spec, total)) in BNUM.iter().enumerate() {
        let expect = salt["bnum"][i].as_u64().map(|x| x as usize);
        assert_eq!(
            batch_size(spec, *total),
            expect,
            "batch {spec:?} of {total}"
        );
        n += 1;
    }
    for (i, (ret, verbose)) in summary_cases().into_iter().enumerate() {
        let rets: Vec<(String, Value)> = match Value::from_json(&ret) {
            Value::Map(m) => m.into_iter().map(|(k, v)| (k.key_string(), v)).collect(),
            _ => Vec::new(),
        };
        assert_eq!(
            returns_summary(&rets, verbose),
            salt["summary"][i].as_str().unwrap_or(""),
            "summary {ret}"
        );
        n += 1;
    }
    // The no_return outputter, as `brine` prints a silent minion.
    let a = SaltArgs::try_parse_from(["brine", "--no-color", "*", "test.ping"]).unwrap();
    let p = Printer::new(&a, &Map::default());
    let data = Value::Map(Map::from_iter([(
        Value::str("m1"),
        Value::str(no_response_text("20261129041213123456")),
    )]));
    assert_eq!(
        p.render(&data, "no_return", 1),
        format!("{}\n", salt["no_return"].as_str().unwrap_or("").trim_end())
    );
    n += 1;
    eprintln!("cli: {n} parser/batch/summary/output cases equal to Salt");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn brine_key_and_run_parse_errors() {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut stdin: &[u8] = b"";
    let code =
        brine_master::cli::key::run(["brine-key", "-l", "bogus"], &mut out, &mut err, &mut stdin);
    assert_eq!(code, 64);
    assert_eq!(
        String::from_utf8_lossy(&err),
        "Usage: brine-key [options]\n\nbrine-key: error: 'bogus' is not a valid argument to '--list'\n"
    );
    err.clear();
    let code =
        brine_master::cli::key::run(["brine-key", "--bogus"], &mut out, &mut err, &mut stdin);
    assert_eq!(code, 64);
    assert!(String::from_utf8_lossy(&err).ends_with("brine-key: error: no such option: --bogus\n"));
    err.clear();
    let code = brine_master::cli::salt::run(["brine", "-c", "/nonexistent"], &mut out, &mut err);
    assert_eq!(code, 42);
    assert_eq!(
        String::from_utf8_lossy(&err),
        "\nCannot execute command without defining a target.\n\n"
    );
    err.clear();
    let code = brine_master::cli::run::run(["brine-run", "-c", "/nonexistent"], &mut out, &mut err);
    assert_eq!(code, 64);
}

#[test]
fn progress_bar_layout() {
    let l = progress_line(1, 4, std::time::Duration::from_secs(61), 80);
    assert!(l.starts_with(" 25% |"), "{l}");
    assert!(l.ends_with("| Elapsed Time: 0:01:01 Returns: [1/4]"), "{l}");
    assert_eq!(l.len(), 80);
    let full = progress_line(4, 4, std::time::Duration::ZERO, 80);
    assert!(full.starts_with("100% |####"), "{full}");
    assert!(!full.contains("# "), "{full}");
}

#[test]
fn batch_sizes_without_salt() {
    // Salt's get_bnum: percentages round down, but a share below one
    // minion rounds up to one.
    assert_eq!(batch_size("10%", 3), Some(1));
    assert_eq!(batch_size("50%", 5), Some(2));
    assert_eq!(batch_size("4", 2), Some(4));
    assert_eq!(batch_size("ten", 2), None);
    let _ = Map::default();
}
