//! The master's job cache, in the layout of Salt's `local_cache` returner
//! (salt/returners/local_cache.py), so `salt-run jobs.*` can read Brine's
//! cache and `brine-run jobs.*` can read Salt's:
//!
//! ```text
//! cachedir/jobs/<sha256(jid)[:2]>/<sha256(jid)[2:]>/
//!     jid            the jid, plain text
//!     .load.p        the published load (msgpack)
//!     .minions.p     the targeted minions (msgpack list)
//!     <minion id>/return.p   {return, retcode?, success?} (msgpack)
//!     <minion id>/out.p      the outputter name, when the minion sent one
//! ```
//!
//! Directories are created 0700 and files 0600 (Brine is stricter than
//! Salt's umask-based modes). Minion ids that are not
//! [`crate::keys::valid_id`] never reach the file system.

use crate::keys::valid_id;
use brine_core::fsutil::write_atomic;
use brine_core::value::{Map, Value};
use brine_core::wire::payload;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

const LOAD_P: &str = ".load.p";
const MINIONS_P: &str = ".minions.p";
const RETURN_P: &str = "return.p";
const OUT_P: &str = "out.p";

/// Why a job cache operation failed.
#[derive(Debug, Error)]
pub enum JobError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("prep_jid could not store a jid after {0} tries")]
    NoJid(usize),
    #[error("invalid minion id {0:?}")]
    InvalidId(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JobError + '_ {
    move |source| JobError::Io {
        path: path.display().to_string(),
        source,
    }
}

static LAST_JID: Mutex<Option<(i64, u32)>> = Mutex::new(None);

/// Format a UTC time as Salt's jid `%Y%m%d%H%M%S%f`.
fn format_jid(secs: i64, micros: u32) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(secs);
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}{micros:06}")
}

/// UTC calendar fields of a Unix time (Howard Hinnant's days algorithm).
fn civil_from_unix(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `salt.utils.jid.gen_jid`: the current UTC time as `%Y%m%d%H%M%S%f`
/// (20 digits). Unlike Salt's default, two calls in one process never
/// return the same jid (the later one is moved on by a microsecond).
pub fn gen_jid() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let mut cur = (now.as_secs() as i64, now.subsec_micros());
    let mut last = LAST_JID.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(prev) = *last {
        if prev >= cur {
            cur = if prev.1 >= 999_999 {
                (prev.0 + 1, 0)
            } else {
                (prev.0, prev.1 + 1)
            };
        }
    }
    *last = Some(cur);
    format_jid(cur.0, cur.1)
}

/// `salt.utils.jid.is_jid`.
pub fn is_jid(jid: &str) -> bool {
    let b = jid.as_bytes();
    if b.len() != 20 && (b.len() <= 21 || b[20] != b'_') {
        return false;
    }
    b[..20].iter().all(u8::is_ascii_digit)
}

/// `salt.utils.jid.jid_to_time`: `2026, Nov 29 04:12:13.123456`, or "".
pub fn jid_to_time(jid: &str) -> String {
    if !is_jid(jid) {
        return String::new();
    }
    const MONTHS: [&str; 13] = [
        "", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = jid[4..6].parse().unwrap_or(0);
    let Some(mname) = MONTHS.get(month).filter(|m| !m.is_empty()) else {
        return String::new();
    };
    format!(
        "{}, {} {} {}:{}:{}.{}",
        &jid[..4],
        mname,
        &jid[6..8],
        &jid[8..10],
        &jid[10..12],
        &jid[12..14],
        &jid[14..20]
    )
}

/// `salt.utils.jid.format_job_instance`.
pub fn format_job_instance(job: &Value) -> Map {
    let get = |k: &str| job.get(k).cloned();
    let mut m = Map::default();
    m.insert(
        Value::str("Function"),
        get("fun").unwrap_or_else(|| Value::str("unknown-function")),
    );
    let args = match job.get("arg") {
        Some(Value::List(l)) => Value::List(l.clone()),
        Some(Value::Null) | None => Value::List(vec![]),
        Some(other) => other.clone(),
    };
    m.insert(Value::str("Arguments"), args);
    m.insert(
        Value::str("Target"),
        get("tgt").unwrap_or_else(|| Value::str("unknown-target")),
    );
    m.insert(
        Value::str("Target-type"),
        get("tgt_type").unwrap_or_else(|| Value::str("list")),
    );
    m.insert(
        Value::str("User"),
        get("user").unwrap_or_else(|| Value::str("root")),
    );
    if let Some(md) = job.get("metadata") {
        m.insert(Value::str("Metadata"), md.clone());
    } else if let Some(md) = job.get("kwargs").and_then(|k| k.get("metadata")) {
        m.insert(Value::str("Metadata"), md.clone());
    }
    m
}

/// `salt.utils.jid.format_jid_instance`: the job plus its `StartTime`.
pub fn format_jid_instance(jid: &str, job: &Value) -> Map {
    let mut m = format_job_instance(job);
    m.insert(Value::str("StartTime"), Value::str(jid_to_time(jid)));
    m
}

/// The job cache under one cachedir.
#[derive(Debug, Clone)]
pub struct JobCache {
    job_dir: PathBuf,
    keep_jobs_hours: u64,
}

fn mkdirs(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

fn read_msgpack(path: &Path) -> Option<Value> {
    let data = fs::read(path).ok()?;
    payload::loads(&data).ok()
}

impl JobCache {
    /// The cache at `cachedir/jobs`; jobs older than `keep_jobs_hours`
    /// are removed by [`JobCache::clean_old`] (0 keeps them forever).
    pub fn new(cachedir: &Path, keep_jobs_hours: u64) -> JobCache {
        JobCache {
            job_dir: cachedir.join("jobs"),
            keep_jobs_hours,
        }
    }

    /// `salt.utils.jid.jid_dir` with sha256 (Salt's default `hash_type`).
    pub fn jid_dir(&self, jid: &str) -> PathBuf {
        use sha2::Digest;
        let h = sha2::Sha256::digest(jid.as_bytes());
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        self.job_dir.join(&hex[..2]).join(&hex[2..])
    }

    /// `prep_jid`: make the jid's directory and its `jid` file; a new jid
    /// when `jid` is None (retrying on a collision, as Salt does).
    pub fn prep_jid(&self, jid: Option<&str>) -> Result<String, JobError> {
        for _ in 0..5 {
            let j = jid.map(str::to_string).unwrap_or_else(gen_jid);
            let dir = self.jid_dir(&j);
            if jid.is_none() && dir.exists() {
                continue;
            }
            mkdirs(&dir).map_err(io_err(&dir))?;
            let f = dir.join("jid");
            write_atomic(&f, j.as_bytes(), Some(0o600)).map_err(io_err(&f))?;
            return Ok(j);
        }
        Err(JobError::NoJid(5))
    }

    /// `save_load`: store the published load in `.load.p`.
    pub fn save_load(&self, jid: &str, load: &Value) -> Result<(), JobError> {
        let dir = self.jid_dir(jid);
        mkdirs(&dir).map_err(io_err(&dir))?;
        let f = dir.join(LOAD_P);
        write_atomic(&f, &payload::dumps(load), Some(0o600)).map_err(io_err(&f))
    }

    /// `save_minions`: store the targeted minion list in `.minions.p`.
    pub fn save_minions(&self, jid: &str, minions: &[String]) -> Result<(), JobError> {
        let dir = self.jid_dir(jid);
        mkdirs(&dir).map_err(io_err(&dir))?;
        let f = dir.join(MINIONS_P);
        let list = Value::List(minions.iter().map(|m| Value::str(m.as_str())).collect());
        write_atomic(&f, &payload::dumps(&list), Some(0o600)).map_err(io_err(&f))
    }

    /// The local_cache `returner`: store minion `id`'s return for `jid`.
    /// `ret` is the return load (a map with `return` and optionally
    /// `retcode`, `success`, `out`); any other value is stored as
    /// `{return: ret}`. Returns `Ok(false)` when the job was marked
    /// `nocache`, or when `id` already returned (Salt logs this as a
    /// possible replay and drops it). A jid of `req` must be replaced by
    /// the caller with [`JobCache::prep_jid`] first.
    pub fn save_return(&self, jid: &str, id: &str, ret: &Value) -> Result<bool, JobError> {
        if !valid_id(id) {
            return Err(JobError::InvalidId(id.to_string()));
        }
        let dir = self.jid_dir(jid);
        if dir.join("nocache").exists() {
            return Ok(false);
        }
        mkdirs(&dir).map_err(io_err(&dir))?;
        let hn = dir.join(id);
        match fs::DirBuilder::new().mode(0o700).create(&hn) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(io_err(&hn)(e)),
        }
        let mut stored = Map::default();
        let mut out = None;
        match ret.as_map() {
            Some(m) if m.contains_key(&Value::str("return")) => {
                for k in ["return", "retcode", "success"] {
                    if let Some(v) = m.get(&Value::str(k)) {
                        stored.insert(Value::str(k), v.clone());
                    }
                }
                out = m.get(&Value::str("out")).cloned();
            }
            _ => {
                stored.insert(Value::str("return"), ret.clone());
            }
        }
        let f = hn.join(RETURN_P);
        write_atomic(&f, &payload::dumps(&Value::Map(stored)), Some(0o600)).map_err(io_err(&f))?;
        if let Some(out) = out {
            let f = hn.join(OUT_P);
            write_atomic(&f, &payload::dumps(&out), Some(0o600)).map_err(io_err(&f))?;
        }
        Ok(true)
    }

    /// `get_load`: the saved load, with `Minions` (sorted) added from
    /// `.minions.p` (and syndics' `.minions.*.p`); None when unknown.
    pub fn get_load(&self, jid: &str) -> Option<Value> {
        let dir = self.jid_dir(jid);
        let mut load = read_msgpack(&dir.join(LOAD_P))?;
        let mut minions: Vec<String> = Vec::new();
        let mut files = vec![dir.join(MINIONS_P)];
        if let Ok(rd) = fs::read_dir(&dir) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().to_string();
                if n.starts_with(".minions.") && n.ends_with(".p") && n != MINIONS_P {
                    files.push(e.path());
                }
            }
        }
        for f in files {
            if let Some(Value::List(l)) = read_msgpack(&f) {
                for m in l {
                    let s = m.key_string();
                    if !minions.contains(&s) {
                        minions.push(s);
                    }
                }
            }
        }
        if !minions.is_empty() {
            minions.sort();
            if let Some(m) = load.as_map_mut() {
                m.insert(
                    Value::str("Minions"),
                    Value::List(minions.into_iter().map(Value::str).collect()),
                );
            }
        }
        if load.is_null() {
            load = Value::map();
        }
        Some(load)
    }

    /// `get_jid`: `{minion: {return, retcode?, success?, out?}}` for every
    /// minion that returned (directory order, as Salt).
    pub fn get_jid(&self, jid: &str) -> Map {
        let dir = self.jid_dir(jid);
        let mut ret = Map::default();
        let Ok(rd) = fs::read_dir(&dir) else {
            return ret;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            let retp = e.path().join(RETURN_P);
            if !retp.is_file() {
                continue;
            }
            let Some(data) = read_msgpack(&retp) else {
                continue;
            };
            let mut data = match data {
                Value::Map(m) if m.contains_key(&Value::str("return")) => m,
                other => {
                    let mut m = Map::default();
                    m.insert(Value::str("return"), other);
                    m
                }
            };
            if let Some(out) = read_msgpack(&e.path().join(OUT_P)) {
                data.insert(Value::str("out"), out);
            }
            ret.insert(Value::str(name), Value::Map(data));
        }
        ret
    }

    /// The minions a job targeted (`.minions.p`), in stored order.
    pub fn get_minions(&self, jid: &str) -> Vec<String> {
        match read_msgpack(&self.jid_dir(jid).join(MINIONS_P)) {
            Some(Value::List(l)) => l.iter().map(Value::key_string).collect(),
            _ => Vec::new(),
        }
    }

    /// Every job's `(jid, load)`, sorted by jid.
    pub fn walk(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let Ok(tops) = fs::read_dir(&self.job_dir) else {
            return out;
        };
        for top in tops.flatten() {
            let Ok(finals) = fs::read_dir(top.path()) else {
                continue;
            };
            for fin in finals.flatten() {
                let Some(job) = read_msgpack(&fin.path().join(LOAD_P)) else {
                    continue;
                };
                if !job.truthy() {
                    continue;
                }
                let Some(jid) = job.get("jid").map(Value::key_string) else {
                    continue;
                };
                out.push((jid, job));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// `get_jids`: `{jid: format_jid_instance(jid, load)}`, sorted by jid.
    pub fn list_jobs(&self) -> Map {
        self.walk()
            .into_iter()
            .map(|(jid, job)| {
                let inst = format_jid_instance(&jid, &job);
                (Value::str(jid), Value::Map(inst))
            })
            .collect()
    }

    /// `clean_old_jobs`: remove jobs whose `jid` file is older than
    /// keep_jobs_hours, jobs without a `jid` file, and old empty dirs.
    pub fn clean_old(&self) {
        if self.keep_jobs_hours == 0 {
            return;
        }
        let keep = Duration::from_secs(self.keep_jobs_hours.saturating_mul(3600));
        let old = |p: &Path| {
            fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > keep)
        };
        let Ok(tops) = fs::read_dir(&self.job_dir) else {
            return;
        };
        for top in tops.flatten() {
            let t_path = top.path();
            let Ok(finals) = fs::read_dir(&t_path) else {
                continue;
            };
            let finals: Vec<_> = finals.flatten().collect();
            if finals.is_empty() {
                if old(&t_path) {
                    let _ = fs::remove_dir_all(&t_path);
                }
                continue;
            }
            for fin in finals {
                let jid_file = fin.path().join("jid");
                if !jid_file.is_file() || old(&jid_file) {
                    let _ = fs::remove_dir_all(fin.path());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jids() {
        assert_eq!(format_jid(0, 5), "19700101000000000005");
        assert_eq!(format_jid(1_795_925_533, 123_456), "20261129041213123456");
        let a = gen_jid();
        let b = gen_jid();
        assert!(is_jid(&a) && b > a, "{a} {b}");
        assert_eq!(
            jid_to_time("20261129041213123456"),
            "2026, Nov 29 04:12:13.123456"
        );
        assert_eq!(jid_to_time("nope"), "");
    }

    #[test]
    fn round_trip() {
        let d = std::env::temp_dir().join(format!("brine-jobs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        let jc = JobCache::new(&d, 24);
        let jid = jc.prep_jid(None).unwrap();
        let mut load = Map::default();
        load.insert(Value::str("jid"), Value::str(jid.as_str()));
        load.insert(Value::str("fun"), Value::str("test.ping"));
        load.insert(Value::str("tgt"), Value::str("*"));
        jc.save_load(&jid, &Value::Map(load)).unwrap();
        jc.save_minions(&jid, &["b".into(), "a".into()]).unwrap();
        let mut r = Map::default();
        r.insert(Value::str("return"), Value::Bool(true));
        r.insert(Value::str("retcode"), Value::Int(0));
        r.insert(Value::str("out"), Value::str("nested"));
        assert!(jc.save_return(&jid, "a", &Value::Map(r.clone())).unwrap());
        assert!(!jc.save_return(&jid, "a", &Value::Map(r)).unwrap());
        assert!(jc.save_return(&jid, "../x", &Value::Null).is_err());
        let got = jc.get_jid(&jid);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[&Value::str("a")].get("out"),
            Some(&Value::str("nested"))
        );
        let l = jc.get_load(&jid).unwrap();
        assert_eq!(
            l.get("Minions"),
            Some(&Value::List(vec![Value::str("a"), Value::str("b")]))
        );
        assert_eq!(jc.list_jobs().len(), 1);
        jc.clean_old();
        assert_eq!(jc.list_jobs().len(), 1);
        fs::remove_dir_all(&d).unwrap();
    }
}
