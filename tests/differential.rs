//! Differential suite: each case under `tests/cases/<name>/` runs through real
//! `salt-call` 3007.8 and through `brine-call`, and the two outputs must agree.
//!
//! A case is a directory holding a `case.json` plus the trees it names
//! (`states/`, `pillar/`, ...). The runner copies the case into a scratch
//! directory, writes one minion config per run (own `root_dir`, `cachedir`,
//! `pki_dir`, `log_file`, `sock_dir`; absolute `file_roots`/`pillar_roots`),
//! runs both programs as `PROG --local -c CONF --out json FUN ARGS...` and
//! compares exit codes, the parsed JSON (key order included) and the raw text.
//!
//! `case.json` fields (all optional except `runs`):
//! - `description`: what the case is about (free text).
//! - `minion`: extra minion config keys (`id`, `grains`, `nodegroups`,
//!   `top_file_merging_strategy`, ...). Written after the harness's keys, so
//!   it can override them. Default `id` is `minion`.
//! - `file_roots` / `pillar_roots`: `{env: [dir, ...]}` with dirs relative to
//!   the case directory, or `$REPO/<dir>` for a tree shipped in the
//!   repository (e.g. `$REPO/states`), read in place. Defaults: `{"base": ["states"]}` and
//!   `{"base": ["pillar"]}` (created empty when missing).
//! - `runs`: list of commands, either a string `"state.show_sls a,b saltenv=dev"`
//!   (split on whitespace) or `{"cmd": "...", "expect": "...", "out": "yaml"}`
//!   (`out` picks another outputter, run with `--no-color` and compared as
//!   text; the default is json).
//! - `expect`: default expectation for the runs: `ok` (Salt must succeed and
//!   Brine must match exactly), `same` (match exactly, whatever Salt's exit
//!   code), `error` (both must fail; outputs are not compared) or
//!   `unsupported` (Salt succeeds but Brine deliberately refuses, e.g. the
//!   `#!py` renderer: Brine must fail with a message, never half-succeed).
//! - `xfail`: reason string; a failing case is then counted as skipped and a
//!   passing one is reported as XPASS (so the mark can be removed).
//!
//! Environment: `SALT_CALL` and `BRINE_CALL` override the program paths;
//! `BRINE_DIFF_JOBS` (default 2) sets the worker threads; `BRINE_DIFF_SALT_ONLY=1`
//! only runs Salt and prints its output (for writing cases);
//! `BRINE_DIFF_KEEP=1` keeps the scratch directory. Positional arguments are
//! substring filters on case names.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one program run may take before it is killed.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);
/// At most this many differences are printed per run.
const MAX_DIFFS: usize = 12;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Ok,
    Same,
    Error,
    Unsupported,
}

impl Expect {
    fn parse(s: &str) -> Result<Expect, String> {
        match s {
            "ok" => Ok(Expect::Ok),
            "same" => Ok(Expect::Same),
            "error" => Ok(Expect::Error),
            "unsupported" => Ok(Expect::Unsupported),
            other => Err(format!(
                "unknown expect {other:?} (want ok, same, error or unsupported)"
            )),
        }
    }
}

#[derive(Debug)]
struct Run {
    args: Vec<String>,
    expect: Expect,
    /// Outputter (`--out`); anything but json is compared as text only.
    out: String,
}

#[derive(Debug)]
struct Case {
    name: String,
    dir: PathBuf,
    minion: serde_json::Map<String, Value>,
    file_roots: Vec<(String, Vec<String>)>,
    pillar_roots: Vec<(String, Vec<String>)>,
    runs: Vec<Run>,
    xfail: Option<String>,
}

struct Tools {
    repo: PathBuf,
    salt_call: PathBuf,
    brine_call: PathBuf,
    scratch: PathBuf,
    salt_only: bool,
}

/// What one program printed and returned.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

enum Verdict {
    Pass,
    Fail(String),
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();

    let cases_dir = repo.join("tests").join("cases");
    let mut cases = Vec::new();
    let mut load_errors = Vec::new();
    let mut names: Vec<PathBuf> = match fs::read_dir(&cases_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.join("case.json").is_file())
            .collect(),
        Err(e) => {
            eprintln!("differential: cannot read {}: {e}", cases_dir.display());
            std::process::exit(1);
        }
    };
    names.sort();
    for dir in names {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match load_case(&name, &dir) {
            Ok(c) => cases.push(c),
            Err(e) => load_errors.push(format!("{name}: {e}")),
        }
    }

    let tools = match find_tools(&repo) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("differential: {e}");
            println!("differential: 0 passed, {} failed", cases.len().max(1));
            std::process::exit(1);
        }
    };

    if !tools.salt_only {
        warn_if_stale(&tools.repo, &tools.brine_call);
    }
    let jobs = std::env::var("BRINE_DIFF_JOBS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2);
    let started = Instant::now();
    println!(
        "differential: {} cases, {} jobs, salt-call {}, brine-call {}",
        cases.len(),
        jobs,
        tools.salt_call.display(),
        tools.brine_call.display()
    );

    let cases = Arc::new(cases);
    let tools = Arc::new(tools);
    let next = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<Vec<(usize, Verdict)>>> = Arc::new(Mutex::new(Vec::new()));
    let print_lock = Arc::new(Mutex::new(()));
    let mut handles = Vec::new();
    for _ in 0..jobs.min(cases.len().max(1)) {
        let (cases, tools, next, results, print_lock) = (
            cases.clone(),
            tools.clone(),
            next.clone(),
            results.clone(),
            print_lock.clone(),
        );
        handles.push(std::thread::spawn(move || loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(case) = cases.get(i) else { break };
            let t0 = Instant::now();
            let (verdict, log) = run_case(case, &tools);
            {
                let _g = print_lock.lock().unwrap_or_else(|p| p.into_inner());
                let secs = t0.elapsed().as_secs_f64();
                match (&verdict, &case.xfail) {
                    (Verdict::Pass, None) => println!("ok    {} ({secs:.1}s)", case.name),
                    (Verdict::Pass, Some(_)) => {
                        println!("XPASS {} ({secs:.1}s): remove its xfail mark", case.name)
                    }
                    (Verdict::Fail(_), Some(why)) => {
                        println!("xfail {} ({secs:.1}s): {why}", case.name)
                    }
                    (Verdict::Fail(msg), None) => {
                        println!("FAIL  {} ({secs:.1}s)\n{msg}", case.name)
                    }
                }
                if !log.is_empty() {
                    print!("{log}");
                }
            }
            results
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((i, verdict));
        }));
    }
    for h in handles {
        let _ = h.join();
    }

    let results = results.lock().unwrap_or_else(|p| p.into_inner());
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    let mut failed_names = Vec::new();
    for (i, v) in results.iter() {
        let case = &cases[*i];
        match (v, &case.xfail) {
            (Verdict::Pass, _) => passed += 1,
            (Verdict::Fail(_), Some(_)) => skipped += 1,
            (Verdict::Fail(_), None) => {
                failed += 1;
                failed_names.push(case.name.clone());
            }
        }
    }
    for e in &load_errors {
        println!("FAIL  {e}");
        failed += 1;
    }
    if results.len() < cases.len() {
        // A worker died (panicked): its cases count as failures.
        let lost = cases.len() - results.len();
        println!("FAIL  {lost} case(s) lost to a crashed worker thread");
        failed += lost;
    }
    failed_names.sort();
    if !failed_names.is_empty() {
        println!("failed cases: {}", failed_names.join(" "));
    }
    let keep = std::env::var_os("BRINE_DIFF_KEEP").is_some() || failed > 0;
    if keep {
        println!("scratch kept in {}", tools.scratch.display());
    } else {
        let _ = fs::remove_dir_all(&tools.scratch);
    }
    println!(
        "differential: finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if skipped > 0 {
        println!("differential: {passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("differential: {passed} passed, {failed} failed");
    }
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Finds salt-call and brine-call and makes the scratch directory.
fn find_tools(repo: &Path) -> Result<Tools, String> {
    let salt_call = std::env::var_os("SALT_CALL")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(".salt-venv").join("bin").join("salt-call"));
    if !salt_call.is_file() {
        return Err(format!(
            "salt-call not found at {} (run scripts/test.sh, which creates .salt-venv)",
            salt_call.display()
        ));
    }
    let brine_call = match std::env::var_os("BRINE_CALL") {
        Some(p) => PathBuf::from(p),
        None => {
            // The test binary lives in target/<profile>/deps/.
            let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
            let profile_dir = exe
                .parent()
                .and_then(|p| p.parent())
                .ok_or("cannot locate target/<profile> from the test binary")?;
            profile_dir.join(format!("brine-call{}", std::env::consts::EXE_SUFFIX))
        }
    };
    let salt_only = std::env::var("BRINE_DIFF_SALT_ONLY").is_ok_and(|v| v == "1");
    if !salt_only && !brine_call.is_file() {
        return Err(format!(
            "brine-call not found at {} (build it first: cargo build -p brine-minion --bin brine-call; scripts/test.sh does)",
            brine_call.display()
        ));
    }
    let scratch = std::env::temp_dir().join(format!("brine-diff-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    Ok(Tools {
        repo: repo.to_path_buf(),
        salt_call,
        brine_call,
        scratch,
        salt_only,
    })
}

/// Warns when a source file of brine-call is newer than the binary: the test
/// cannot rebuild it (cargo holds the build lock), `scripts/test.sh` does.
fn warn_if_stale(repo: &Path, brine_call: &Path) {
    fn newest(dir: &Path, acc: &mut Option<std::time::SystemTime>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                newest(&p, acc);
            } else if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                match acc {
                    Some(a) if *a >= t => {}
                    _ => *acc = Some(t),
                }
            }
        }
    }
    let Ok(built) = fs::metadata(brine_call).and_then(|m| m.modified()) else {
        return;
    };
    let mut src = None;
    for d in ["core/src", "minion/src", "vendor"] {
        newest(&repo.join(d), &mut src);
    }
    if src.is_some_and(|s| s > built) {
        println!(
            "differential: WARNING: sources are newer than {}; rebuild with `cargo build -p brine-minion --bin brine-call`",
            brine_call.display()
        );
    }
}

/// Reads and checks `case.json`.
fn load_case(name: &str, dir: &Path) -> Result<Case, String> {
    let path = dir.join("case.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{}: top level must be an object", path.display()))?;
    for k in obj.keys() {
        if !matches!(
            k.as_str(),
            "description" | "minion" | "file_roots" | "pillar_roots" | "runs" | "expect" | "xfail"
        ) {
            return Err(format!("{}: unknown key {k:?}", path.display()));
        }
    }
    let default_expect = match obj.get("expect") {
        None => Expect::Ok,
        Some(Value::String(s)) => Expect::parse(s)?,
        Some(_) => return Err("expect must be a string".into()),
    };
    let minion = match obj.get("minion") {
        None => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("minion must be an object".into()),
    };
    let roots = |key: &str, default: &str| -> Result<Vec<(String, Vec<String>)>, String> {
        match obj.get(key) {
            None => Ok(vec![("base".to_string(), vec![default.to_string()])]),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(env, dirs)| {
                    let dirs = dirs
                        .as_array()
                        .ok_or_else(|| format!("{key}.{env} must be a list"))?
                        .iter()
                        .map(|d| {
                            d.as_str()
                                .map(str::to_string)
                                .ok_or_else(|| format!("{key}.{env} entries must be strings"))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((env.clone(), dirs))
                })
                .collect(),
            Some(_) => Err(format!("{key} must be an object")),
        }
    };
    let file_roots = roots("file_roots", "states")?;
    let pillar_roots = roots("pillar_roots", "pillar")?;
    let mut runs = Vec::new();
    for r in obj
        .get("runs")
        .and_then(Value::as_array)
        .ok_or("runs must be a non-empty list")?
    {
        let (cmd, expect, out) = match r {
            Value::String(s) => (s.as_str(), default_expect, "json".to_string()),
            Value::Object(m) => {
                let cmd = m
                    .get("cmd")
                    .and_then(Value::as_str)
                    .ok_or("run objects need a cmd string")?;
                let expect = match m.get("expect") {
                    None => default_expect,
                    Some(Value::String(s)) => Expect::parse(s)?,
                    Some(_) => return Err("expect must be a string".into()),
                };
                let out = match m.get("out") {
                    None => "json".to_string(),
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => return Err("out must be a string".into()),
                };
                (cmd, expect, out)
            }
            _ => return Err("runs entries must be strings or objects".into()),
        };
        let args: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
        if args.is_empty() {
            return Err("empty run command".into());
        }
        runs.push(Run { args, expect, out });
    }
    if runs.is_empty() {
        return Err("runs must be a non-empty list".into());
    }
    let xfail = match obj.get("xfail") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("xfail must be a string".into()),
    };
    Ok(Case {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        minion,
        file_roots,
        pillar_roots,
        runs,
        xfail,
    })
}

/// Runs every command of one case through both programs. Returns the verdict
/// and, in salt-only mode, a log of Salt's output.
fn run_case(case: &Case, tools: &Tools) -> (Verdict, String) {
    let work = tools.scratch.join(&case.name);
    let tree = work.join("tree");
    if let Err(e) = copy_dir(&case.dir, &tree) {
        return (
            Verdict::Fail(format!("    copying case: {e}")),
            String::new(),
        );
    }
    let mut failures = String::new();
    let mut log = String::new();
    for (i, run) in case.runs.iter().enumerate() {
        let cmdline = run.args.join(" ");
        let salt = match invoke(
            &tools.salt_call,
            &tools.repo,
            case,
            &tree,
            &work.join(format!("{i}-salt")),
            run,
        ) {
            Ok(o) => o,
            Err(e) => {
                let _ = writeln!(failures, "  [{cmdline}] cannot run salt-call: {e}");
                continue;
            }
        };
        if tools.salt_only {
            let _ = writeln!(
                log,
                "  [{cmdline}] salt exit {:?} in {:.1}s\n{}",
                salt.code,
                salt.elapsed.as_secs_f64(),
                indent(&salt.stdout, "    ")
            );
            if salt.stdout.trim().is_empty() {
                let _ = writeln!(log, "{}", indent(&tail(&salt.stderr, 15), "    ! "));
            }
            let failed = run_failed(&salt, run);
            match run.expect {
                Expect::Ok if failed => {
                    let _ = writeln!(failures, "  [{cmdline}] expect ok, but salt-call failed");
                }
                Expect::Error if !failed => {
                    let _ = writeln!(
                        failures,
                        "  [{cmdline}] expect error, but salt-call succeeded"
                    );
                }
                _ => {}
            }
            continue;
        }
        let brine = match invoke(
            &tools.brine_call,
            &tools.repo,
            case,
            &tree,
            &work.join(format!("{i}-brine")),
            run,
        ) {
            Ok(o) => o,
            Err(e) => {
                let _ = writeln!(failures, "  [{cmdline}] cannot run brine-call: {e}");
                continue;
            }
        };
        if let Some(msg) = compare(run, &salt, &brine) {
            let _ = writeln!(failures, "  [{cmdline}] {msg}");
        }
    }
    if failures.is_empty() {
        (Verdict::Pass, log)
    } else {
        (Verdict::Fail(failures.trim_end().to_string()), log)
    }
}

/// Whether a run failed: the exit code for text outputters, else [`looks_failed`].
fn run_failed(o: &Outcome, run: &Run) -> bool {
    if run.out == "json" {
        looks_failed(o, &run.args[0])
    } else {
        o.code != Some(0)
    }
}

/// Whether a run failed the way Salt reports compile/render failures: a
/// non-zero exit, or a `local` that is an error list/string or has `_errors`.
fn looks_failed(o: &Outcome, fun: &str) -> bool {
    if o.code != Some(0) {
        return true;
    }
    let Ok(v) = serde_json::from_str::<Value>(&o.stdout) else {
        return true;
    };
    reports_errors(&v, fun)
}

/// Whether parsed output is Salt's error form: a `local` that is a list of
/// error strings or a string (state functions), or a map with `_errors`.
fn reports_errors(v: &Value, fun: &str) -> bool {
    match v.get("local") {
        Some(Value::String(_)) => fun.starts_with("state."),
        // state.* functions report compile errors as a list of strings.
        Some(Value::Array(items)) => {
            fun.starts_with("state.")
                && fun != "state.show_states"
                && !items.is_empty()
                && items.iter().all(Value::is_string)
        }
        Some(Value::Object(m)) => m.contains_key("_errors"),
        _ => false,
    }
}

/// Compares one run; `None` when it agrees, else a compact explanation.
fn compare(run: &Run, salt: &Outcome, brine: &Outcome) -> Option<String> {
    let expect = run.expect;
    if expect == Expect::Unsupported {
        if !run_failed(brine, run) {
            return Some(format!(
                "brine-call should refuse this (unsupported) but succeeded:\n{}",
                indent(&head(&brine.stdout, 8), "      ")
            ));
        }
        if brine.stdout.trim().is_empty() && brine.stderr.trim().is_empty() {
            return Some("brine-call failed without saying why".to_string());
        }
        return None;
    }
    if expect == Expect::Error {
        let (sf, bf) = (run_failed(salt, run), run_failed(brine, run));
        return match (sf, bf) {
            (true, true) => None,
            (false, _) => Some(format!(
                "case expects an error but salt-call succeeded (exit {:?}):\n{}",
                salt.code,
                indent(&head(&salt.stdout, 15), "      ")
            )),
            (true, false) => Some(format!(
                "salt-call failed (exit {:?}) but brine-call succeeded:\n{}\n    brine stdout:\n{}",
                salt.code,
                indent(&head(&salt.stdout, 8), "      "),
                indent(&head(&brine.stdout, 8), "      ")
            )),
        };
    }
    if expect == Expect::Ok && run_failed(salt, run) {
        return Some(format!(
            "salt-call itself failed (exit {:?}); fix the case or mark it expect same/error:\n{}{}",
            salt.code,
            indent(&head(&salt.stdout, 15), "      "),
            indent(&tail(&salt.stderr, 5), "      ! ")
        ));
    }
    if run.out != "json" {
        let mut msg = String::new();
        if salt.code != brine.code {
            let _ = writeln!(
                msg,
                "exit codes differ: salt {:?}, brine {:?}",
                salt.code, brine.code
            );
        }
        if salt.stdout != brine.stdout {
            let _ = writeln!(
                msg,
                "--out {} text differs: {}",
                run.out,
                first_text_difference(&salt.stdout, &brine.stdout)
            );
        }
        return (!msg.is_empty()).then(|| msg.trim_end().to_string());
    }
    let salt_json: Value = match serde_json::from_str(&salt.stdout) {
        Ok(v) => v,
        Err(e) => {
            return Some(format!(
                "salt-call output is not JSON ({e}):\n{}",
                indent(&head(&salt.stdout, 10), "      ")
            ))
        }
    };
    let brine_json: Value = match serde_json::from_str(&brine.stdout) {
        Ok(v) => v,
        Err(e) => {
            return Some(format!(
                "brine-call exit {:?}, output is not JSON ({e}):\n{}{}",
                brine.code,
                indent(&head(&brine.stdout, 6), "      "),
                indent(&tail(&brine.stderr, 6), "      ! ")
            ))
        }
    };
    if !run_failed(salt, run) && reports_errors(&brine_json, &run.args[0]) {
        // Brine failed where Salt did not: its error says more than a diff.
        let errors = match brine_json.get("local") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Some(Value::String(e)) => e.clone(),
            _ => format!("{}\n{}", brine.stdout, brine.stderr),
        };
        return Some(format!(
            "salt-call succeeded but brine-call failed (exit {:?}):\n{}",
            brine.code,
            indent(&head(&errors, 8), "      ! ")
        ));
    }
    let mut diffs = Vec::new();
    diff_values(&salt_json, &brine_json, "", &mut diffs);
    let mut msg = String::new();
    if salt.code != brine.code {
        let _ = writeln!(
            msg,
            "exit codes differ: salt {:?}, brine {:?}",
            salt.code, brine.code
        );
    }
    if !diffs.is_empty() {
        let _ = writeln!(msg, "JSON differs (salt vs brine):");
        for d in diffs.iter().take(MAX_DIFFS) {
            let _ = writeln!(msg, "      {d}");
        }
        if diffs.len() > MAX_DIFFS {
            let _ = writeln!(msg, "      ... {} more", diffs.len() - MAX_DIFFS);
        }
    } else if salt.stdout != brine.stdout {
        let _ = writeln!(
            msg,
            "same JSON but the text differs: {}",
            first_text_difference(&salt.stdout, &brine.stdout)
        );
    }
    if msg.is_empty() {
        None
    } else {
        if brine.code != Some(0) && !brine.stderr.trim().is_empty() {
            let _ = writeln!(
                msg,
                "    brine stderr:\n{}",
                indent(&tail(&brine.stderr, 6), "      ! ")
            );
        }
        Some(msg.trim_end().to_string())
    }
}

/// Short JSON rendering for diff lines.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 100 {
        let cut: String = s.chars().take(97).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Collects differences between two JSON values, key order included.
fn diff_values(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() > MAX_DIFFS {
        return;
    }
    let here = if path.is_empty() { "." } else { path };
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            for k in ma.keys() {
                if !mb.contains_key(k) {
                    out.push(format!(
                        "{here}: brine lacks key {k:?} (salt: {})",
                        short(&ma[k])
                    ));
                }
            }
            for k in mb.keys() {
                if !ma.contains_key(k) {
                    out.push(format!(
                        "{here}: brine has extra key {k:?} = {}",
                        short(&mb[k])
                    ));
                }
            }
            let ka: Vec<&String> = ma.keys().filter(|k| mb.contains_key(*k)).collect();
            let kb: Vec<&String> = mb.keys().filter(|k| ma.contains_key(*k)).collect();
            if ka != kb {
                out.push(format!(
                    "{here}: key order differs: salt {ka:?}, brine {kb:?}"
                ));
            }
            for k in ka {
                diff_values(&ma[k], &mb[k], &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(la), Value::Array(lb)) if chunk_keys(la).zip(chunk_keys(lb)).is_some() => {
            // Low chunks: show the sequence once, then compare chunk by chunk.
            let (ka, kb) = (
                chunk_keys(la).unwrap_or_default(),
                chunk_keys(lb).unwrap_or_default(),
            );
            if ka != kb {
                out.push(format!(
                    "{here}: low chunks differ: salt {ka:?}, brine {kb:?}"
                ));
            }
            for (x, k) in la.iter().zip(ka.iter()) {
                match kb.iter().position(|kk| kk == k) {
                    Some(j) => diff_values(x, &lb[j], &format!("{path}[{k}]"), out),
                    None => out.push(format!("{here}: brine lacks chunk {k}")),
                }
            }
        }
        (Value::Array(la), Value::Array(lb)) => {
            if la.len() != lb.len() {
                out.push(format!(
                    "{here}: list length salt {}, brine {}",
                    la.len(),
                    lb.len()
                ));
            }
            for (i, (x, y)) in la.iter().zip(lb.iter()).enumerate() {
                diff_values(x, y, &format!("{path}[{i}]"), out);
            }
            if la.len() > lb.len() {
                out.push(format!(
                    "{here}[{}]: only salt has {}",
                    lb.len(),
                    short(&la[lb.len()])
                ));
            } else if lb.len() > la.len() {
                out.push(format!(
                    "{here}[{}]: only brine has {}",
                    la.len(),
                    short(&lb[la.len()])
                ));
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            // 1 and 1.0 are different outputs: compare the written form.
            if x.to_string() != y.to_string() {
                out.push(format!("{here}: salt {x}, brine {y}"));
            }
        }
        _ => {
            if a != b {
                out.push(format!("{here}: salt {}, brine {}", short(a), short(b)));
            }
        }
    }
}

/// For a list of low chunks (objects with `__id__`), their `state.fun __id__ name` labels.
fn chunk_keys(list: &[Value]) -> Option<Vec<String>> {
    if list.is_empty() {
        return None;
    }
    list.iter()
        .map(|v| {
            let o = v.as_object()?;
            let get = |k: &str| {
                o.get(k).map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
            };
            Some(format!(
                "{}.{} {} {}",
                get("state")?,
                get("fun").unwrap_or_default(),
                get("__id__")?,
                get("name").unwrap_or_default()
            ))
        })
        .collect()
}

/// Describes the first line where two texts differ.
fn first_text_difference(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    for i in 0..la.len().max(lb.len()) {
        let (x, y) = (la.get(i), lb.get(i));
        if x != y {
            return format!(
                "line {}: salt {:?}, brine {:?}",
                i + 1,
                x.unwrap_or(&"<end>"),
                y.unwrap_or(&"<end>")
            );
        }
    }
    "trailing newline or whitespace differs".to_string()
}

/// Writes a minion config for one run and runs `program` with the run's args.
fn invoke(
    program: &Path,
    repo: &Path,
    case: &Case,
    tree: &Path,
    rundir: &Path,
    run: &Run,
) -> Result<Outcome, String> {
    let conf = rundir.join("conf");
    let root = rundir.join("root");
    fs::create_dir_all(&conf).map_err(|e| format!("mkdir {}: {e}", conf.display()))?;
    fs::create_dir_all(&root).map_err(|e| format!("mkdir {}: {e}", root.display()))?;
    let config = minion_config(case, repo, tree, &root)?;
    fs::write(conf.join("minion"), config).map_err(|e| format!("write config: {e}"))?;
    let out_path = rundir.join("stdout");
    let err_path = rundir.join("stderr");
    let stdout = fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let stderr = fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut child = Command::new(program)
        .arg("--local")
        .arg("-c")
        .arg(&conf)
        .arg("--out")
        .arg(&run.out)
        .args(if run.out == "json" {
            None
        } else {
            Some("--no-color")
        })
        .args(&run.args)
        .current_dir(rundir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", program.display()))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if t0.elapsed() > RUN_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {}s", RUN_TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("wait: {e}")),
        }
    };
    let elapsed = t0.elapsed();
    let read = |p: &Path| {
        fs::read(p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    Ok(Outcome {
        code: status.code(),
        stdout: read(&out_path),
        stderr: read(&err_path),
        elapsed,
    })
}

/// The minion config text: the harness's keys, then the case's `minion` keys.
fn minion_config(case: &Case, repo: &Path, tree: &Path, root: &Path) -> Result<String, String> {
    let mut cfg: BTreeMap<&str, Value> = BTreeMap::new();
    let s = |p: &Path| Value::String(p.to_string_lossy().into_owned());
    let roots = |spec: &[(String, Vec<String>)]| -> Result<Value, String> {
        let mut m = serde_json::Map::new();
        for (env, dirs) in spec {
            let mut list = Vec::new();
            for d in dirs {
                let p = match d.strip_prefix("$REPO/") {
                    // A tree shipped with the repository (read in place).
                    Some(rest) => repo.join(rest),
                    None => {
                        let p = tree.join(d);
                        fs::create_dir_all(&p)
                            .map_err(|e| format!("mkdir {}: {e}", p.display()))?;
                        p
                    }
                };
                list.push(s(&p));
            }
            m.insert(env.clone(), Value::Array(list));
        }
        Ok(Value::Object(m))
    };
    cfg.insert("root_dir", s(root));
    cfg.insert("cachedir", s(&root.join("cache")));
    cfg.insert("pki_dir", s(&root.join("pki")));
    cfg.insert("sock_dir", s(&root.join("sock")));
    cfg.insert("log_file", s(&root.join("minion.log")));
    cfg.insert("file_roots", roots(&case.file_roots)?);
    cfg.insert("pillar_roots", roots(&case.pillar_roots)?);
    let mut text = String::from("# Written by tests/differential.rs\nfile_client: local\n");
    if !case.minion.contains_key("id") {
        text.push_str("id: minion\n");
    }
    for (k, v) in &cfg {
        if !case.minion.contains_key(*k) {
            emit_yaml(&mut text, k, v, 0);
        }
    }
    for (k, v) in &case.minion {
        emit_yaml(&mut text, k, v, 0);
    }
    Ok(text)
}

/// Writes `key: value` as block YAML; scalars are written as JSON, which is
/// valid YAML (strings double-quoted, so nothing is reinterpreted).
fn emit_yaml(out: &mut String, key: &str, v: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    let k = yaml_key(key);
    match v {
        Value::Object(m) if !m.is_empty() => {
            let _ = writeln!(out, "{pad}{k}:");
            for (kk, vv) in m {
                emit_yaml(out, kk, vv, depth + 1);
            }
        }
        Value::Array(l) if !l.is_empty() => {
            let _ = writeln!(out, "{pad}{k}:");
            for item in l {
                emit_yaml_item(out, item, depth + 1);
            }
        }
        _ => {
            let _ = writeln!(out, "{pad}{k}: {v}");
        }
    }
}

/// A mapping key: plain when it cannot be read as anything but that string.
fn yaml_key(key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

fn emit_yaml_item(out: &mut String, v: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(m) if !m.is_empty() => {
            // "- " followed by the first key, the rest aligned under it.
            let mut first = true;
            for (kk, vv) in m {
                let mut buf = String::new();
                emit_yaml(&mut buf, kk, vv, depth + 1);
                if first {
                    let body = buf.trim_start();
                    let _ = write!(out, "{pad}- {body}");
                    first = false;
                } else {
                    out.push_str(&buf);
                }
            }
        }
        Value::Array(l) if !l.is_empty() => {
            let _ = writeln!(out, "{pad}- {v}");
        }
        _ => {
            let _ = writeln!(out, "{pad}- {v}");
        }
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("mkdir {}: {e}", to.display()))?;
    let rd = fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))?;
    for entry in rd {
        let entry = entry.map_err(|e| e.to_string())?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let ft = entry.file_type().map_err(|e| e.to_string())?;
        if ft.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
        }
    }
    Ok(())
}

fn head(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let mut r = lines.iter().take(n).copied().collect::<Vec<_>>().join("\n");
    if lines.len() > n {
        let _ = write!(r, "\n... ({} more lines)", lines.len() - n);
    }
    r
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn indent(s: &str, pad: &str) -> String {
    let mut r = String::new();
    for l in s.lines() {
        let _ = writeln!(r, "{pad}{l}");
    }
    r
}
