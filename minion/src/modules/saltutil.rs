//! `saltutil` (salt/modules/saltutil.py), the parts a minion connected to a
//! master needs: the running-jobs registry behind `saltutil.running` and
//! `saltutil.find_job` (what `salt` asks when a job outlives its timeout),
//! and the `sync_*` / `refresh_*` functions, which have nothing to sync in
//! Brine (no custom Python modules) and answer as an empty sync does.

use super::{bind, Context, ModFn};
use brine_core::value::{Map, Value};
use std::sync::Mutex;

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("running", running),
    ("find_job", find_job),
    ("is_running", is_running),
    ("sync_all", sync_all),
    ("sync_beacons", sync_list),
    ("sync_clouds", sync_list),
    ("sync_engines", sync_list),
    ("sync_executors", sync_list),
    ("sync_grains", sync_list),
    ("sync_log_handlers", sync_list),
    ("sync_matchers", sync_list),
    ("sync_modules", sync_list),
    ("sync_output", sync_list),
    ("sync_pillar", sync_list),
    ("sync_proxymodules", sync_list),
    ("sync_renderers", sync_list),
    ("sync_returners", sync_list),
    ("sync_sdb", sync_list),
    ("sync_serializers", sync_list),
    ("sync_states", sync_list),
    ("sync_thorium", sync_list),
    ("sync_utils", sync_list),
    ("sync_wrapper", sync_list),
    ("refresh_pillar", refresh),
    ("refresh_modules", refresh),
    ("refresh_grains", refresh),
];

/// The jobs running in this process: jid -> the job's data (the publish
/// load plus `pid`), as the proc files Salt's `saltutil.running` reads.
static RUNNING: Mutex<Vec<(String, Value)>> = Mutex::new(Vec::new());

/// Record a started job.
pub fn job_started(jid: &str, data: Value) {
    if let Ok(mut r) = RUNNING.lock() {
        r.retain(|(j, _)| j != jid);
        r.push((jid.to_string(), data));
    }
}

/// Forget a finished job.
pub fn job_finished(jid: &str) {
    if let Ok(mut r) = RUNNING.lock() {
        r.retain(|(j, _)| j != jid);
    }
}

/// The running jobs' data.
pub fn running_jobs() -> Vec<Value> {
    RUNNING
        .lock()
        .map(|r| r.iter().map(|(_, d)| d.clone()).collect())
        .unwrap_or_default()
}

/// `saltutil.running`: the other running jobs (not the calling one, as
/// Salt skips its own process or thread).
fn running(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let me = kwargs.get(&Value::from("__pub_jid")).cloned();
    bind("saltutil.running", &[], 0, false, false, args, kwargs)?;
    Ok(Value::List(
        running_jobs()
            .into_iter()
            .filter(|d| me.is_none() || d.get("jid") != me.as_ref())
            .collect(),
    ))
}

/// `saltutil.find_job jid`: the job's data, `{}` when not running.
fn find_job(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("saltutil.find_job", &["jid"], 1, false, false, args, kwargs)?;
    let jid = b.str(0).unwrap_or_default();
    Ok(running_jobs()
        .into_iter()
        .find(|d| d.get("jid").and_then(Value::as_str) == Some(jid.as_str()))
        .unwrap_or_else(Value::map))
}

/// `saltutil.is_running fun`: the running jobs whose `fun` matches the glob.
fn is_running(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "saltutil.is_running",
        &["fun"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let pat = b.str(0).unwrap_or_default();
    Ok(Value::List(
        running_jobs()
            .into_iter()
            .filter(|d| {
                d.get("fun")
                    .and_then(Value::as_str)
                    .is_some_and(|f| brine_core::config::fnmatch(f, &pat))
            })
            .collect(),
    ))
}

fn sync_list(_: &Context, _: Vec<Value>, _: Map) -> Result<Value, String> {
    Ok(Value::List(Vec::new()))
}

/// `saltutil.sync_all`: every kind, nothing synced.
fn sync_all(_: &Context, _: Vec<Value>, _: Map) -> Result<Value, String> {
    let mut m = Map::default();
    for k in [
        "clouds",
        "beacons",
        "modules",
        "states",
        "sdb",
        "grains",
        "renderers",
        "returners",
        "output",
        "utils",
        "log_handlers",
        "executors",
        "proxymodules",
        "engines",
        "thorium",
        "serializers",
        "matchers",
        "wrapper",
        "pillar",
    ] {
        m.insert(Value::from(k), Value::List(Vec::new()));
    }
    Ok(Value::Map(m))
}

fn refresh(_: &Context, _: Vec<Value>, _: Map) -> Result<Value, String> {
    Ok(Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_tracks_jobs() {
        let ctx = Context::new(Value::map());
        let mut d = Map::default();
        d.insert(Value::from("jid"), Value::from("20990101000000000001"));
        d.insert(Value::from("fun"), Value::from("test.sleep"));
        job_started("20990101000000000001", Value::Map(d));
        let got = find_job(
            &ctx,
            vec![Value::from("20990101000000000001")],
            Map::default(),
        )
        .unwrap();
        assert_eq!(got.get("fun").and_then(Value::as_str), Some("test.sleep"));
        let r = is_running(&ctx, vec![Value::from("test.*")], Map::default()).unwrap();
        assert!(!r.as_list().unwrap().is_empty());
        job_finished("20990101000000000001");
        let got = find_job(
            &ctx,
            vec![Value::from("20990101000000000001")],
            Map::default(),
        )
        .unwrap();
        assert_eq!(got, Value::map());
    }
}
