//! `brine-run`: the runners of salt-run Brine has (salt/runners/jobs.py,
//! salt/runners/manage.py), with Salt's return values and outputters:
//!
//! - `jobs.list_jobs [search_function=GLOB] [search_target=GLOB]`,
//!   `jobs.lookup_jid JID [missing=True] [returned=False]`, `jobs.list_job
//!   JID`: read the job cache ([`crate::jobs::JobCache`], Salt's
//!   local_cache layout, so jobs run by salt-master are listed too);
//! - `jobs.active`: publishes `saltutil.running` to every minion and
//!   lists the running jobs, with the minions that already returned;
//! - `manage.up`, `manage.down`, `manage.status` (`tgt=`, `tgt_type=`,
//!   `timeout=`, `gather_job_timeout=`): `test.ping` through the
//!   [`crate::local::LocalClient`].

use super::salt::gather;
use super::{clap_error, k, load_opts, opt_path, OutFlags};
use crate::jobs::{format_jid_instance, JobCache};
use crate::local::LocalClient;
use brine_core::config::fnmatch;
use brine_core::output::pyrepr;
use brine_core::value::{Map, Value};
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

const USAGE: &str = "[options] <function> [arguments]";

/// salt-run's options Brine supports.
#[derive(Parser, Debug, Default)]
#[command(
    name = "brine-run",
    about = "Run master-side runner functions (salt-run)"
)]
pub struct RunArgs {
    /// Configuration directory.
    #[arg(short = 'c', long = "config-dir", default_value = super::DEFAULT_CONFIG_DIR)]
    pub config_dir: String,
    /// Seconds to wait for minions (manage.*, jobs.active).
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    #[command(flatten)]
    pub out_flags: OutFlags,
    /// FUNCTION [ARGUMENTS ...]
    #[arg()]
    pub args: Vec<String>,
}

/// A runner's answer: data and the outputter it asks for (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerRet {
    pub data: Value,
    pub outputter: Option<String>,
}

impl RunnerRet {
    fn plain(data: Value) -> RunnerRet {
        RunnerRet {
            data,
            outputter: None,
        }
    }
}

/// Salt's runners/jobs.py `_format_job_instance` (which, unlike the
/// utils version, also copies `Minions` and reports a missing job).
fn format_runner_jid(jid: &str, load: Option<&Value>) -> Map {
    match load {
        Some(l) if l.truthy() => {
            let mut m = format_jid_instance(jid, l);
            if let Some(minions) = l.get("Minions") {
                let start = m.shift_remove(&k("StartTime"));
                m.insert(k("Minions"), minions.clone());
                if let Some(st) = start {
                    m.insert(k("StartTime"), st);
                }
            }
            m
        }
        _ => {
            let mut m = Map::default();
            m.insert(
                k("Error"),
                k("Cannot contact returner or no job with this jid"),
            );
            m.insert(k("StartTime"), Value::str(crate::jobs::jid_to_time(jid)));
            m
        }
    }
}

/// `jobs.list_job(jid)`.
pub fn list_job(cache: &JobCache, jid: &str) -> Value {
    let mut ret = Map::default();
    ret.insert(k("jid"), k(jid));
    let load = cache.get_load(jid);
    for (key, v) in format_runner_jid(jid, load.as_ref()) {
        ret.insert(key, v);
    }
    ret.insert(k("Result"), Value::Map(cache.get_jid(jid)));
    Value::Map(ret)
}

/// `jobs.lookup_jid(jid, returned=True, missing=False)`.
pub fn lookup_jid(cache: &JobCache, jid: &str, returned: bool, missing: bool) -> RunnerRet {
    let data = list_job(cache, jid);
    let targeted: Vec<String> = match data.get("Minions") {
        Some(Value::List(l)) => l.iter().map(Value::key_string).collect(),
        _ => Vec::new(),
    };
    let returns = data
        .get("Result")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    let mut ret = Map::default();
    if returned {
        for (minion, r) in &returns {
            ret.insert(
                minion.clone(),
                r.get("return").cloned().unwrap_or(Value::Null),
            );
        }
    }
    if missing {
        for m in targeted {
            if !returns.contains_key(&k(&m)) {
                ret.insert(k(&m), k("Minion did not return"));
            }
        }
    }
    let outputter = returns
        .values()
        .next()
        .and_then(|r| r.get("out"))
        .filter(|o| o.truthy())
        .map(pyrepr::str_of);
    RunnerRet {
        data: Value::Map(ret),
        outputter,
    }
}

/// `jobs.list_jobs(search_function=None, search_target=None)`.
pub fn list_jobs(
    cache: &JobCache,
    search_function: Option<&str>,
    search_target: Option<&str>,
) -> Value {
    let split = |s: &str| -> Vec<String> { s.split(',').map(|x| x.trim().to_string()).collect() };
    let mut out = Map::default();
    for (jid, job) in cache.list_jobs() {
        let mut ok = true;
        if let Some(st) = search_target {
            ok = false;
            let targets: Vec<String> = match job.get("Target") {
                Some(Value::List(l)) => l.iter().map(pyrepr::str_of).collect(),
                Some(v) => vec![pyrepr::str_of(v)],
                None => Vec::new(),
            };
            for t in &targets {
                if split(st).iter().any(|p| fnmatch(t, p)) {
                    ok = true;
                }
            }
        }
        if let (Some(sf), true) = (search_function, ok) {
            ok = false;
            if let Some(f) = job.get("Function") {
                let f = pyrepr::str_of(f);
                if split(sf).iter().any(|p| fnmatch(&f, p)) {
                    ok = true;
                }
            }
        }
        if ok {
            out.insert(jid, job);
        }
    }
    Value::Map(out)
}

/// `jobs.active`'s assembly from the `saltutil.running` returns.
pub fn active_from(cache: &JobCache, running: &[(String, Value)]) -> Value {
    let mut ret = Map::default();
    for (minion, data) in running {
        let Value::List(jobs) = data else {
            continue;
        };
        for job in jobs {
            let Some(jid) = job.get("jid").map(pyrepr::str_of) else {
                continue;
            };
            let pid = job.get("pid").cloned().unwrap_or(Value::Null);
            let entry = Value::Map(Map::from_iter([(k(minion), pid)]));
            match ret.get_mut(&k(&jid)) {
                Some(Value::Map(m)) => {
                    if let Some(Value::List(r)) = m.get_mut(&k("Running")) {
                        r.push(entry);
                    }
                }
                _ => {
                    let mut m = format_runner_jid(&jid, Some(job));
                    m.insert(k("Running"), Value::List(vec![entry]));
                    m.insert(k("Returned"), Value::List(Vec::new()));
                    ret.insert(k(&jid), Value::Map(m));
                }
            }
        }
    }
    for (jid, entry) in ret.iter_mut() {
        let returned = cache.get_jid(&pyrepr::str_of(jid));
        if let Some(Value::List(r)) = entry.as_map_mut().and_then(|m| m.get_mut(&k("Returned"))) {
            for minion in returned.keys() {
                if !r.contains(minion) {
                    r.push(minion.clone());
                }
            }
        }
    }
    Value::Map(ret)
}

fn kw_bool(kw: &Map, key: &str, default: bool) -> bool {
    kw.get(&k(key)).map(Value::truthy).unwrap_or(default)
}

fn kw_str(kw: &Map, key: &str) -> Option<String> {
    kw.get(&k(key)).filter(|v| !v.is_null()).map(pyrepr::str_of)
}

/// Run brine-run with `args` (argv including the program name); returns
/// the exit code.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let a = match RunArgs::try_parse_from(&argv) {
        Ok(a) => a,
        Err(e) => return clap_error(e, &argv, out, err, "brine-run", USAGE),
    };
    let Some(fun) = a.args.first() else {
        return super::usage_error(err, "brine-run", USAGE, "no runner function given");
    };
    let (pos, kw) = brine_minion::modules::parse_input(&a.args[1..]);
    let opts = match load_opts(Path::new(&a.config_dir)) {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(err, "Error: {e}");
            return 1;
        }
    };
    let cachedir = opt_path(&opts, "cachedir", "/var/cache/salt/master");
    let keep = opts
        .get(&k("keep_jobs_seconds"))
        .and_then(Value::as_int)
        .map(|s| (s.max(0) as u64).div_ceil(3600))
        .unwrap_or(24);
    let cache = JobCache::new(&cachedir, keep);
    let num = |key: &str, d: u64| {
        kw.get(&k(key))
            .or_else(|| opts.get(&k(key)))
            .and_then(Value::as_int)
            .map(|i| i.clamp(1, 86_400) as u64)
            .unwrap_or(d)
    };
    let timeout = a
        .timeout
        .filter(|t| *t > 0)
        .unwrap_or_else(|| num("timeout", 5));
    let gather_t = num("gather_job_timeout", 10);
    let arg_or_kw = |i: usize, key: &str| -> Option<String> {
        pos.get(i).map(pyrepr::str_of).or_else(|| kw_str(&kw, key))
    };
    let connect = || LocalClient::connect(&opt_path(&opts, "sock_dir", "/var/run/salt/master"));

    let result: Result<RunnerRet, String> = match fun.as_str() {
        "jobs.list_jobs" => Ok(RunnerRet::plain(list_jobs(
            &cache,
            kw_str(&kw, "search_function").as_deref(),
            kw_str(&kw, "search_target").as_deref(),
        ))),
        "jobs.lookup_jid" => match arg_or_kw(0, "jid") {
            Some(jid) => Ok(lookup_jid(
                &cache,
                &jid,
                kw_bool(&kw, "returned", true),
                kw_bool(&kw, "missing", false),
            )),
            None => Err("Passed invalid arguments: lookup_jid() missing 1 required positional argument: 'jid'".into()),
        },
        "jobs.list_job" | "jobs.print_job" => match arg_or_kw(0, "jid") {
            Some(jid) => Ok(RunnerRet::plain(list_job(&cache, &jid))),
            None => Err(format!(
                "Passed invalid arguments: {}() missing 1 required positional argument: 'jid'",
                fun.trim_start_matches("jobs.")
            )),
        },
        "jobs.active" | "manage.up" | "manage.down" | "manage.status" => {
            match connect() {
                Err(e) => Err(e.to_string()),
                Ok(mut client) => {
                    let (tgt, fun_name, tgt_type) = if fun == "jobs.active" {
                        ("*".to_string(), "saltutil.running", "glob".to_string())
                    } else {
                        (
                            arg_or_kw(99, "tgt").unwrap_or_else(|| "*".into()),
                            "test.ping",
                            kw_str(&kw, "tgt_type").unwrap_or_else(|| "glob".into()),
                        )
                    };
                    match gather(
                        &mut client,
                        Value::str(tgt),
                        &tgt_type,
                        fun_name,
                        Vec::new(),
                        Duration::from_secs(timeout),
                        Duration::from_secs(gather_t),
                    ) {
                        Err(e) => Err(e.to_string()),
                        Ok((targeted, rets)) => {
                            if targeted.is_empty() {
                                let _ = writeln!(out, "No minions matched the target. No command was sent, no jid was assigned.");
                            }
                            if fun == "jobs.active" {
                                let running: Vec<(String, Value)> = rets
                                    .into_iter()
                                    .map(|(id, m)| (id, m.get(&k("ret")).cloned().unwrap_or(Value::Null)))
                                    .collect();
                                Ok(RunnerRet::plain(active_from(&cache, &running)))
                            } else {
                                let mut up: Vec<String> = rets.into_iter().map(|(id, _)| id).collect();
                                up.sort();
                                up.dedup();
                                let mut down: Vec<String> =
                                    targeted.into_iter().filter(|m| !up.contains(m)).collect();
                                down.sort();
                                down.dedup();
                                let list = |l: &[String]| Value::List(l.iter().map(|s| Value::str(s.as_str())).collect());
                                let data = match fun.as_str() {
                                    "manage.up" => list(&up),
                                    "manage.down" => {
                                        if kw_bool(&kw, "removekeys", false) {
                                            let store = crate::keys::KeyStore::open(&opt_path(&opts, "pki_dir", "/etc/salt/pki/master"));
                                            for m in &down {
                                                let _ = store.delete_in(m, &[crate::keys::KeyState::Accepted]);
                                            }
                                        }
                                        list(&down)
                                    }
                                    _ => Value::Map(Map::from_iter([
                                        (k("up"), list(&up)),
                                        (k("down"), list(&down)),
                                    ])),
                                };
                                Ok(RunnerRet::plain(data))
                            }
                        }
                    }
                }
            }
        }
        other => Err(format!("'{other}' is not available.")),
    };
    match result {
        Ok(r) => {
            let flags = a.out_flags.clone();
            let default = r.outputter.as_deref().unwrap_or("nested");
            let _ = write!(out, "{}", flags.render(&r.data, default));
            0
        }
        // salt-run exits 0 after an unknown function or bad arguments too.
        Err(e) if e.starts_with("Passed invalid arguments") => {
            let _ = writeln!(out, "\n{e}");
            0
        }
        Err(e) if e.ends_with("is not available.") => {
            let _ = writeln!(out, "{e}");
            0
        }
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}

/// The `brine-run` binary's body.
pub fn main() -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run(std::env::args_os(), &mut stdout.lock(), &mut stderr.lock())
}
