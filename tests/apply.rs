//! Apply differential suite: each case under `tests/apply_cases/<name>/` is
//! *applied* (states really run) by real `salt-call` 3007.8 and by
//! `brine-call`, each into its own scratch root, and the two must agree on
//! the state results, the exit codes and the file trees they leave behind.
//!
//! A case is a directory holding `case.json`, `states/` (the file_roots),
//! `pillar/` (the pillar_roots, may be absent) and optionally `files/` (a
//! tree copied into the scratch target before the first run). The SLS files
//! refer to their target directory through the static grain `scratch`
//! (`{{ grains['scratch'] }}/etc/app.conf`), which the harness sets in the
//! minion config it writes for each program (own `root_dir`, `cachedir`,
//! `pki_dir`, `sock_dir`, `log_file`; `file_client: local`).
//!
//! Every run is done twice in a row (unless its `repeat` says otherwise)
//! on the same scratch root (the second run checks idempotence: both
//! programs must also agree on it). Runs of a case build on each other;
//! after the first run that differs, later runs are not compared. After each
//! run the target trees are compared: relative paths, file types, modes,
//! symlink targets and contents (with the scratch path replaced).
//!
//! Results are compared after normalising: `start_time` and `duration` are
//! dropped, every `pid` value is masked, and the scratch paths are replaced
//! by placeholders (`@SCRATCH@` for the target, `@ROOT@` for the minion's
//! root_dir, `@RUN@` for the per-program directory, `@TREE@` for the case
//! copy). The names in "One or more requisite failed: a, b" are sorted
//! (Salt joins a Python set there: its order varies with the hash seed), and
//! so are `removed` lists in changes (file.directory's `clean` returns a set).
//! Key order is not compared (Salt's JSON key order of state returns
//! is an accident of dict building); the run order is, through `__run_num__`.
//!
//! `case.json` fields:
//! - `description`: what the case is about (free text, required).
//! - `minion`: extra minion config keys (`failhard`, `state_aggregate`...);
//!   its `grains` are merged with the harness's `scratch` grain.
//! - `runs` (required): list of runs, each a string (`"state.apply app"`,
//!   split on whitespace) or an object `{"cmd": "...", "test": true,
//!   "pillar": {...}, "out": "highstate", "repeat": 1}`: `test` appends
//!   `test=True`, `pillar` appends `pillar=<json>`, `out: "highstate"`
//!   prints with the highstate outputter (`--no-color`) and compares that
//!   text instead of the JSON (Started/Duration/Total run time and pids
//!   masked), `repeat` (default 2) is how often the run is applied in a
//!   row. `@SCRATCH@` in a command stands for the target directory (for
//!   `state.single` arguments).
//! - `may_differ`: `{"<state id or full tag>": "why"}`: for those states
//!   the comment and changes are not compared (result, run number and
//!   presence still are). Every entry must say why.
//! - `xfail`: reason string; a failing case is counted as skipped and a
//!   passing one is reported as XPASS.
//!
//! Environment: `SALT_CALL` and `BRINE_CALL` override the program paths;
//! `BRINE_APPLY_JOBS` (default 2) sets how many cases run at once;
//! `BRINE_APPLY_SALT_ONLY=1` runs Salt only and prints its normalised
//! results (for writing cases); `BRINE_APPLY_KEEP=1` keeps the scratch
//! directory. Positional arguments are substring filters on case names.
//! The last line is `apply: N passed, N failed` (scripts/test.sh sums it).

use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one program run may take before it is killed.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);
/// At most this many differences are printed per run.
const MAX_DIFFS: usize = 14;
/// Contents longer than this are compared but not printed in full.
const MAX_SHOWN: usize = 200;

#[derive(Debug)]
struct Run {
    args: Vec<String>,
    repeat: usize,
    /// `--out` for this run: `json` (results compared as data) or
    /// `highstate` (the printed text compared after masking).
    out: String,
}

#[derive(Debug)]
struct Case {
    name: String,
    dir: PathBuf,
    minion: Map<String, Value>,
    runs: Vec<Run>,
    may_differ: Vec<String>,
    xfail: Option<String>,
}

struct Tools {
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
}

/// The paths a program's run used, for the placeholders.
struct Paths {
    target: PathBuf,
    root: PathBuf,
    rundir: PathBuf,
    tree: PathBuf,
}

impl Paths {
    /// Replace every scratch path by its placeholder.
    fn scrub(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (p, ph) in [
            (&self.target, "@SCRATCH@"),
            (&self.root, "@ROOT@"),
            (&self.rundir, "@RUN@"),
            (&self.tree, "@TREE@"),
        ] {
            let p = p.to_string_lossy();
            if !p.is_empty() {
                out = out.replace(p.as_ref(), ph);
            }
        }
        out
    }
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

    let cases_dir = repo.join("tests").join("apply_cases");
    let mut cases = Vec::new();
    let mut load_errors = Vec::new();
    let mut dirs: Vec<PathBuf> = match fs::read_dir(&cases_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.join("case.json").is_file())
            .collect(),
        Err(e) => {
            eprintln!("apply: cannot read {}: {e}", cases_dir.display());
            println!("apply: 0 passed, 1 failed");
            std::process::exit(1);
        }
    };
    dirs.sort();
    for dir in dirs {
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
            eprintln!("apply: {e}");
            println!("apply: 0 passed, {} failed", cases.len().max(1));
            std::process::exit(1);
        }
    };
    if !tools.salt_only {
        warn_if_stale(&repo, &tools.brine_call);
    }
    let jobs = std::env::var("BRINE_APPLY_JOBS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2);
    let started = Instant::now();
    println!(
        "apply: {} cases, {} jobs, salt-call {}, brine-call {}{}",
        cases.len(),
        jobs,
        tools.salt_call.display(),
        tools.brine_call.display(),
        if tools.salt_only { " (salt only)" } else { "" }
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
        let lost = cases.len() - results.len();
        println!("FAIL  {lost} case(s) lost to a crashed worker thread");
        failed += lost;
    }
    failed_names.sort();
    if !failed_names.is_empty() {
        println!("failed cases: {}", failed_names.join(" "));
    }
    if std::env::var_os("BRINE_APPLY_KEEP").is_some() || failed > 0 {
        println!("scratch kept in {}", tools.scratch.display());
    } else {
        let _ = fs::remove_dir_all(&tools.scratch);
    }
    println!("apply: finished in {:.1}s", started.elapsed().as_secs_f64());
    if skipped > 0 {
        println!("apply: {passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("apply: {passed} passed, {failed} failed");
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
            let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
            let profile_dir = exe
                .parent()
                .and_then(|p| p.parent())
                .ok_or("cannot locate target/<profile> from the test binary")?;
            profile_dir.join(format!("brine-call{}", std::env::consts::EXE_SUFFIX))
        }
    };
    let salt_only = std::env::var("BRINE_APPLY_SALT_ONLY").is_ok_and(|v| v == "1");
    if !salt_only && !brine_call.is_file() {
        return Err(format!(
            "brine-call not found at {} (build it first: cargo build -p brine-minion --bin brine-call)",
            brine_call.display()
        ));
    }
    let scratch = std::env::temp_dir().join(format!("brine-apply-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    Ok(Tools {
        salt_call,
        brine_call,
        scratch,
        salt_only,
    })
}

/// Warns when a source file of brine-call is newer than the binary (the
/// test cannot rebuild it: cargo holds the build lock).
fn warn_if_stale(repo: &Path, brine_call: &Path) {
    fn newest(dir: &Path, acc: &mut Option<std::time::SystemTime>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                newest(&p, acc);
            } else if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                if acc.is_none_or(|a| t > a) {
                    *acc = Some(t);
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
            "apply: WARNING: sources are newer than {}; rebuild with `cargo build -p brine-minion --bin brine-call`",
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
            "description" | "minion" | "runs" | "may_differ" | "xfail"
        ) {
            return Err(format!("{}: unknown key {k:?}", path.display()));
        }
    }
    if !obj.get("description").is_some_and(Value::is_string) {
        return Err(format!(
            "{}: description (a string) is required",
            path.display()
        ));
    }
    let minion = match obj.get("minion") {
        None => Map::default(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("minion must be an object".into()),
    };
    if minion.get("grains").is_some_and(|g| !g.is_object()) {
        return Err("minion.grains must be an object".into());
    }
    let mut runs = Vec::new();
    let list = obj
        .get("runs")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or("runs must be a non-empty list")?;
    for r in list {
        let (cmd, test, pillar, repeat, out) = match r {
            Value::String(s) => (s.as_str(), false, None, 2, "json".to_string()),
            Value::Object(m) => {
                for k in m.keys() {
                    if !matches!(k.as_str(), "cmd" | "test" | "pillar" | "repeat" | "out") {
                        return Err(format!("runs: unknown key {k:?}"));
                    }
                }
                let cmd = m
                    .get("cmd")
                    .and_then(Value::as_str)
                    .ok_or("run objects need a cmd string")?;
                let test = match m.get("test") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err("runs: test must be a boolean".into()),
                };
                let pillar = match m.get("pillar") {
                    None => None,
                    Some(p @ Value::Object(_)) => Some(p.to_string()),
                    Some(_) => return Err("runs: pillar must be an object".into()),
                };
                let repeat = match m.get("repeat") {
                    None => 2,
                    Some(n) => {
                        n.as_u64()
                            .filter(|n| (1..=5).contains(n))
                            .ok_or("runs: repeat must be 1 to 5")? as usize
                    }
                };
                let out = match m.get("out") {
                    None => "json".to_string(),
                    Some(Value::String(o)) if o == "json" || o == "highstate" => o.clone(),
                    Some(_) => return Err("runs: out must be json or highstate".into()),
                };
                (cmd, test, pillar, repeat, out)
            }
            _ => return Err("runs entries must be strings or objects".into()),
        };
        let mut args: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
        if args.is_empty() {
            return Err("empty run command".into());
        }
        if test {
            args.push("test=True".into());
        }
        if let Some(p) = pillar {
            args.push(format!("pillar={p}"));
        }
        runs.push(Run { args, repeat, out });
    }
    let mut may_differ = Vec::new();
    match obj.get("may_differ") {
        None => {}
        Some(Value::Object(m)) => {
            for (k, why) in m {
                if why.as_str().is_none_or(|w| w.trim().len() < 10) {
                    return Err(format!(
                        "may_differ.{k}: say why the comment/changes may differ"
                    ));
                }
                may_differ.push(k.clone());
            }
        }
        Some(_) => return Err("may_differ must be an object".into()),
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
        runs,
        may_differ,
        xfail,
    })
}

/// One program's view of a run: its exit code, normalised results and the
/// target tree afterwards.
struct Applied {
    code: Option<i32>,
    results: Value,
    tree: Vec<(String, String)>,
    stderr: String,
}

/// Applies every run of a case (each `repeat` times) with one program.
fn apply_all(
    program: &Path,
    case: &Case,
    tree: &Path,
    rundir: &Path,
) -> Result<Vec<(String, Applied)>, String> {
    let paths = Paths {
        target: rundir.join("t"),
        root: rundir.join("root"),
        rundir: rundir.to_path_buf(),
        tree: tree.to_path_buf(),
    };
    let conf = rundir.join("conf");
    for d in [&conf, &paths.root, &paths.target] {
        fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    let files = case.dir.join("files");
    if files.is_dir() {
        copy_tree(&files, &paths.target)?;
    }
    fs::write(conf.join("minion"), minion_config(case, tree, &paths)?)
        .map_err(|e| format!("write config: {e}"))?;
    let mut out = Vec::new();
    for (i, run) in case.runs.iter().enumerate() {
        for rep in 0..run.repeat {
            let label = format!("run {} [{}] #{}", i + 1, run.args.join(" "), rep + 1);
            let target = paths.target.to_string_lossy();
            let args: Vec<String> = run
                .args
                .iter()
                .map(|a| a.replace("@SCRATCH@", &target))
                .collect();
            let o = invoke(program, &conf, rundir, &args, &run.out)?;
            let results = if run.out != "json" {
                Value::String(mask_text(&paths.scrub(&o.stdout)))
            } else {
                match serde_json::from_str::<Value>(&o.stdout) {
                    Ok(v) => normalise(&v, &paths),
                    Err(_) => {
                        Value::String(format!("<not JSON> {}", paths.scrub(&head(&o.stdout, 5))))
                    }
                }
            };
            let snapshot = snapshot_tree(&paths)?;
            out.push((
                label,
                Applied {
                    code: o.code,
                    results,
                    tree: snapshot,
                    stderr: paths.scrub(&o.stderr),
                },
            ));
        }
    }
    Ok(out)
}

/// Runs one case through Salt (and Brine unless salt-only).
fn run_case(case: &Case, tools: &Tools) -> (Verdict, String) {
    let work = tools.scratch.join(&case.name);
    let tree = work.join("tree");
    let fail = |m: String| (Verdict::Fail(format!("    {m}")), String::new());
    for sub in ["states", "pillar"] {
        let from = case.dir.join(sub);
        let to = tree.join(sub);
        let r = if from.is_dir() {
            copy_tree(&from, &to)
        } else {
            fs::create_dir_all(&to).map_err(|e| format!("mkdir {}: {e}", to.display()))
        };
        if let Err(e) = r {
            return fail(format!("copying case: {e}"));
        }
    }
    // "s" and "b": same length, so a path's length never differs.
    let salt = match apply_all(&tools.salt_call, case, &tree, &work.join("s")) {
        Ok(s) => s,
        Err(e) => return fail(format!("salt-call: {e}")),
    };
    if tools.salt_only {
        let mut log = String::new();
        for (label, a) in &salt {
            let _ = writeln!(log, "  {label}: salt exit {:?}", a.code);
            log.push_str(&describe(&a.results));
            if a.code != Some(0) && !a.stderr.trim().is_empty() {
                log.push_str(&indent(&tail(&a.stderr, 6), "      ! "));
            }
        }
        if let Some((_, last)) = salt.last() {
            let _ = writeln!(log, "  tree:");
            for (p, d) in &last.tree {
                let _ = writeln!(log, "      {p}: {}", cut(d));
            }
        }
        return (Verdict::Pass, log);
    }
    let brine = match apply_all(&tools.brine_call, case, &tree, &work.join("b")) {
        Ok(b) => b,
        Err(e) => return fail(format!("brine-call: {e}")),
    };
    let mut msg = String::new();
    for ((label, s), (_, b)) in salt.iter().zip(brine.iter()) {
        let mut diffs = Vec::new();
        if s.code != b.code {
            diffs.push(format!("exit code: salt {:?}, brine {:?}", s.code, b.code));
        }
        compare_results(&s.results, &b.results, &case.may_differ, &mut diffs);
        compare_trees(&s.tree, &b.tree, &mut diffs);
        if !diffs.is_empty() {
            let _ = writeln!(msg, "  {label}:");
            for d in diffs.iter().take(MAX_DIFFS) {
                let _ = writeln!(msg, "      {d}");
            }
            if diffs.len() > MAX_DIFFS {
                let _ = writeln!(msg, "      ... {} more", diffs.len() - MAX_DIFFS);
            }
            if b.code != Some(0) && !b.stderr.trim().is_empty() {
                let _ = writeln!(msg, "      brine stderr:");
                msg.push_str(&indent(&tail(&b.stderr, 4), "      ! "));
            }
            // Later runs build on this one: their differences would only repeat it.
            break;
        }
    }
    if msg.is_empty() {
        (Verdict::Pass, String::new())
    } else {
        (Verdict::Fail(msg.trim_end().to_string()), String::new())
    }
}

/// Normalises a `--out json` state return: `{"local": {tag: ret}}` becomes
/// `{tag: ret}` without timings, with pids masked and paths replaced.
fn normalise(v: &Value, paths: &Paths) -> Value {
    let inner = v.get("local").unwrap_or(v);
    fn walk(v: &Value, paths: &Paths, depth: usize) -> Value {
        match v {
            Value::String(s) => Value::String(sort_failed_requisites(&paths.scrub(s))),
            Value::Array(l) => Value::Array(l.iter().map(|x| walk(x, paths, depth + 1)).collect()),
            Value::Object(m) => {
                let mut out = Map::default();
                for (k, x) in m {
                    if depth == 1 && (k == "start_time" || k == "duration") {
                        continue;
                    }
                    let nv = if k == "pid" && x.is_number() {
                        Value::String("<pid>".into())
                    } else if k == "removed" && x.is_array() {
                        // file.directory `clean` returns `list(set)`: its
                        // order follows Python's hash seed.
                        let mut items: Vec<Value> = x
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|i| walk(i, paths, depth + 1))
                            .collect();
                        items.sort_by_key(|i| i.to_string());
                        Value::Array(items)
                    } else {
                        walk(x, paths, depth + 1)
                    };
                    out.insert(paths.scrub(k), nv);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
    walk(inner, paths, 0)
}

/// Masks what changes from run to run in `--out highstate` text: the
/// Started/Duration lines, the total run time, pids in changes.
fn mask_text(s: &str) -> String {
    let mut out = Vec::new();
    let mut after_pid = false;
    for line in s.lines() {
        let t = line.trim_start();
        let masked = if t.starts_with("Started: ") || t.starts_with("Duration: ") {
            let (head, _) = line.split_at(line.find(':').unwrap_or(0) + 1);
            format!("{head} <masked>")
        } else if t.starts_with("Total run time:") {
            "Total run time: <masked>".to_string()
        } else if after_pid && !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
            line.replace(t, "<pid>")
        } else if let Some(i) = line.find("Comment: One or more requisite failed: ") {
            let at = i + "Comment: ".len();
            format!("{}{}", &line[..at], sort_failed_requisites(&line[at..]))
        } else if let Some(i) = line.find(" - Started: ") {
            // Terse lines: "... - Started: T - Duration: D ms".
            format!("{} - Started: <masked>", &line[..i])
        } else {
            line.to_string()
        };
        after_pid = t == "pid:";
        out.push(masked);
    }
    out.join("\n")
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
    "trailing whitespace differs".to_string()
}

/// Salt builds "One or more requisite failed: a, b" from a Python set,
/// so with several failed requisites its order changes with the string
/// hash seed from run to run: compare the names sorted.
fn sort_failed_requisites(s: &str) -> String {
    const HEAD: &str = "One or more requisite failed: ";
    match s.strip_prefix(HEAD) {
        Some(rest) if !rest.contains('\n') => {
            let mut names: Vec<&str> = rest.split(", ").collect();
            names.sort_unstable();
            format!("{HEAD}{}", names.join(", "))
        }
        _ => s.to_string(),
    }
}

/// One line per state, by `__run_num__`, for salt-only mode.
fn describe(results: &Value) -> String {
    let Value::Object(m) = results else {
        return match results {
            Value::String(text) => indent(text, "      | "),
            other => indent(&cut(&other.to_string()), "      "),
        };
    };
    let mut items: Vec<(&String, &Value)> = m.iter().collect();
    items.sort_by_key(|(_, r)| r.get("__run_num__").and_then(Value::as_i64).unwrap_or(-1));
    let mut s = String::new();
    for (tag, r) in items {
        let _ = writeln!(
            s,
            "      {:>3} {} result={} comment={} changes={}",
            r.get("__run_num__")
                .map(|v| v.to_string())
                .unwrap_or_default(),
            tag,
            r.get("result").map(|v| v.to_string()).unwrap_or_default(),
            cut(&r.get("comment").map(|v| v.to_string()).unwrap_or_default()),
            cut(&r.get("changes").map(|v| v.to_string()).unwrap_or_default()),
        );
    }
    s
}

/// The state id of a tag `mod_|-id_|-name_|-fun`.
fn tag_id(tag: &str) -> &str {
    tag.split("_|-").nth(1).unwrap_or(tag)
}

fn compare_results(s: &Value, b: &Value, may_differ: &[String], out: &mut Vec<String>) {
    match (s, b) {
        (Value::Object(ms), Value::Object(mb)) => {
            for (tag, rs) in ms {
                let Some(rb) = mb.get(tag) else {
                    out.push(format!("brine lacks state {tag} (salt: {})", short(rs)));
                    continue;
                };
                let lax = may_differ.iter().any(|k| k == tag || k == tag_id(tag));
                match (rs, rb) {
                    (Value::Object(xs), Value::Object(xb)) => {
                        for (k, vs) in xs {
                            if lax && (k == "comment" || k == "changes") {
                                continue;
                            }
                            match xb.get(k) {
                                None => out
                                    .push(format!("{tag}: brine lacks {k} (salt: {})", short(vs))),
                                Some(vb) => diff_values(vs, vb, &format!("{tag}.{k}"), out),
                            }
                        }
                        for (k, vb) in xb {
                            if !xs.contains_key(k) {
                                out.push(format!("{tag}: brine has extra {k} = {}", short(vb)));
                            }
                        }
                    }
                    _ => diff_values(rs, rb, tag, out),
                }
            }
            for (tag, rb) in mb {
                if !ms.contains_key(tag) {
                    out.push(format!("brine has extra state {tag} = {}", short(rb)));
                }
            }
        }
        _ => diff_values(s, b, "", out),
    }
}

/// Differences between two JSON values, ignoring key order.
fn diff_values(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    let here = if path.is_empty() { "." } else { path };
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            for (k, va) in ma {
                match mb.get(k) {
                    None => out.push(format!(
                        "{here}: brine lacks key {k:?} (salt: {})",
                        short(va)
                    )),
                    Some(vb) => diff_values(va, vb, &format!("{path}.{k}"), out),
                }
            }
            for (k, vb) in mb {
                if !ma.contains_key(k) {
                    out.push(format!("{here}: brine has extra key {k:?} = {}", short(vb)));
                }
            }
        }
        (Value::Array(la), Value::Array(lb)) if la.len() == lb.len() => {
            for (i, (x, y)) in la.iter().zip(lb.iter()).enumerate() {
                diff_values(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(x), Value::Number(y)) if x.to_string() == y.to_string() => {}
        (Value::String(x), Value::String(y)) if x.contains('\n') || y.contains('\n') => {
            if x != y {
                out.push(format!(
                    "{here}: text differs: {}",
                    first_text_difference(x, y)
                ));
            }
        }
        _ => {
            if a != b {
                out.push(format!("{here}: salt {}, brine {}", short(a), short(b)));
            }
        }
    }
}

fn compare_trees(s: &[(String, String)], b: &[(String, String)], out: &mut Vec<String>) {
    let (mut i, mut j) = (0, 0);
    while i < s.len() || j < b.len() {
        match (s.get(i), b.get(j)) {
            (Some((ps, ds)), Some((pb, db))) if ps == pb => {
                if ds != db {
                    out.push(format!("tree {ps}: salt {}, brine {}", cut(ds), cut(db)));
                }
                i += 1;
                j += 1;
            }
            (Some((ps, ds)), Some((pb, _))) if ps < pb => {
                out.push(format!("tree: only salt made {ps} ({})", cut(ds)));
                i += 1;
            }
            (Some((ps, ds)), None) => {
                out.push(format!("tree: only salt made {ps} ({})", cut(ds)));
                i += 1;
            }
            (_, Some((pb, db))) => {
                out.push(format!("tree: only brine made {pb} ({})", cut(db)));
                j += 1;
            }
            (None, None) => break,
        }
    }
}

/// The target tree as sorted `(relative path, description)`: type, mode,
/// symlink target or contents (scratch paths replaced).
fn snapshot_tree(paths: &Paths) -> Result<Vec<(String, String)>, String> {
    fn walk(
        dir: &Path,
        rel: &str,
        paths: &Paths,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), String> {
        let rd = fs::read_dir(dir).map_err(|e| format!("read {}: {e}", dir.display()))?;
        let mut entries: Vec<_> = rd.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let relp = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let p = e.path();
            let md = fs::symlink_metadata(&p).map_err(|e| format!("stat {}: {e}", p.display()))?;
            let mode = md.permissions().mode() & 0o7777;
            let ft = md.file_type();
            if ft.is_symlink() {
                let t = fs::read_link(&p).map_err(|e| format!("readlink {}: {e}", p.display()))?;
                out.push((
                    relp,
                    format!("symlink -> {}", paths.scrub(&t.to_string_lossy())),
                ));
            } else if ft.is_dir() {
                out.push((relp.clone(), format!("dir {mode:04o}")));
                walk(&p, &relp, paths, out)?;
            } else if ft.is_file() {
                let bytes = fs::read(&p).map_err(|e| format!("read {}: {e}", p.display()))?;
                let text = paths.scrub(&String::from_utf8_lossy(&bytes));
                out.push((relp, format!("file {mode:04o} {text:?}")));
            } else {
                out.push((relp, format!("special {mode:04o}")));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(&paths.target, "", paths, &mut out)?;
    Ok(out)
}

/// The minion config: the harness's keys, the case's `minion` keys, and
/// the `scratch` grain merged into the case's grains.
fn minion_config(case: &Case, tree: &Path, paths: &Paths) -> Result<String, String> {
    let s = |p: &Path| Value::String(p.to_string_lossy().into_owned());
    let roots = |sub: &str| {
        let mut m = Map::default();
        m.insert("base".into(), Value::Array(vec![s(&tree.join(sub))]));
        Value::Object(m)
    };
    let mut cfg = Map::default();
    cfg.insert("id".into(), Value::String("minion".into()));
    cfg.insert("file_client".into(), Value::String("local".into()));
    cfg.insert("root_dir".into(), s(&paths.root));
    cfg.insert("cachedir".into(), s(&paths.root.join("cache")));
    cfg.insert("pki_dir".into(), s(&paths.root.join("pki")));
    cfg.insert("sock_dir".into(), s(&paths.root.join("sock")));
    cfg.insert("log_file".into(), s(&paths.root.join("minion.log")));
    cfg.insert("file_roots".into(), roots("states"));
    cfg.insert("pillar_roots".into(), roots("pillar"));
    let mut grains = Map::default();
    for (k, v) in &case.minion {
        if k == "grains" {
            if let Value::Object(g) = v {
                grains.extend(g.clone());
            }
        } else {
            cfg.insert(k.clone(), v.clone());
        }
    }
    grains.insert("scratch".into(), s(&paths.target));
    cfg.insert("grains".into(), Value::Object(grains));
    // JSON is YAML: one line per key keeps the config readable.
    let mut text = String::from("# Written by tests/apply.rs\n");
    for (k, v) in &cfg {
        let _ = writeln!(text, "{}: {v}", Value::String(k.clone()));
    }
    Ok(text)
}

/// Runs `program --local -c CONF --out json ARGS...`.
fn invoke(
    program: &Path,
    conf: &Path,
    rundir: &Path,
    args: &[String],
    out: &str,
) -> Result<Outcome, String> {
    let out_path = rundir.join("stdout");
    let err_path = rundir.join("stderr");
    let stdout = fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let stderr = fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut child = Command::new(program)
        .arg("--local")
        .arg("-c")
        .arg(conf)
        .arg("--out")
        .arg(out)
        .args((out != "json").then_some("--no-color"))
        .args(args)
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
    let read = |p: &Path| {
        fs::read(p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    Ok(Outcome {
        code: status.code(),
        stdout: read(&out_path),
        stderr: read(&err_path),
    })
}

/// Copies a tree, keeping modes and recreating symlinks.
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("mkdir {}: {e}", to.display()))?;
    let rd = fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))?;
    for entry in rd {
        let entry = entry.map_err(|e| e.to_string())?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let ft = entry.file_type().map_err(|e| e.to_string())?;
        if ft.is_symlink() {
            let t = fs::read_link(&src).map_err(|e| format!("readlink {}: {e}", src.display()))?;
            symlink(&t, &dst).map_err(|e| format!("symlink {}: {e}", dst.display()))?;
        } else if ft.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
        }
    }
    Ok(())
}

fn short(v: &Value) -> String {
    cut(&v.to_string())
}

fn cut(s: &str) -> String {
    if s.chars().count() > MAX_SHOWN {
        let c: String = s.chars().take(MAX_SHOWN - 3).collect();
        format!("{c}...")
    } else {
        s.to_string()
    }
}

fn head(s: &str, n: usize) -> String {
    s.lines().take(n).collect::<Vec<_>>().join("\n")
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
