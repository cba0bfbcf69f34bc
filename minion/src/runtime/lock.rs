//! The state run lock: one state run at a time per minion (cachedir), as
//! Salt's `_check_queue` / `state.running` enforce through the job proc
//! files. Brine holds an exclusive `flock` on `<cachedir>/proc/state.lock`
//! for the whole run and writes the holder's function, PID and job id into
//! it, so a second `brine-call` either gets Salt's conflict answer
//! ("The function "state.apply" is running as PID ...") or, with
//! `queue=True`, waits its turn. The kernel drops the lock when the holder
//! exits, however it exits.

use super::clock::{gen_jid, jid_to_time};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub fun: String,
    pub pid: u32,
    pub jid: String,
}

impl Holder {
    /// `state.running`'s line for this holder.
    pub fn message(&self) -> String {
        format!(
            "The function \"{}\" is running as PID {} and was started at {} with jid {}",
            self.fun,
            self.pid,
            jid_to_time(&self.jid),
            self.jid
        )
    }

    fn parse(text: &str) -> Option<Holder> {
        let mut lines = text.lines();
        let fun = lines.next()?.to_string();
        let pid = lines.next()?.trim().parse().ok()?;
        let jid = lines.next()?.trim().to_string();
        Some(Holder { fun, pid, jid })
    }
}

/// A held run lock; released on drop.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    pub jid: String,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        // SAFETY: flock on a descriptor we own.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// The lock file under `cachedir`.
pub fn lock_path(cachedir: &Path) -> PathBuf {
    cachedir.join("proc").join("state.lock")
}

fn open(cachedir: &Path) -> std::io::Result<File> {
    let path = lock_path(cachedir);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

fn flock(file: &File, op: libc::c_int) -> bool {
    // SAFETY: flock on a descriptor we own.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
}

/// The current holder, read from the lock file (retrying briefly: the
/// holder writes its line right after taking the lock).
fn read_holder(file: &mut File) -> Option<Holder> {
    for _ in 0..50 {
        let mut text = String::new();
        if file.seek(SeekFrom::Start(0)).is_ok() && file.read_to_string(&mut text).is_ok() {
            if let Some(h) = Holder::parse(&text) {
                return Some(h);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

/// What [`acquire`] returns when another run holds the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict(pub Vec<String>);

/// How to behave when another state run is going on (Salt's `queue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Report the conflict.
    No,
    /// Wait for the other run.
    Wait,
    /// Wait when fewer than this many runs are ahead (one at most here).
    Max(i128),
}

/// Take the run lock for `fun`, waiting or reporting a conflict per
/// `queue`. An unusable cachedir only logs: the run goes on unlocked, as
/// Salt's does when it cannot write its proc file.
pub fn acquire(cachedir: &Path, fun: &str, queue: Queue) -> Result<Option<RunLock>, Conflict> {
    let mut file = match open(cachedir) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(
                "Cannot write to process directory. Do you have permissions to write to {} ? ({})",
                cachedir.join("proc").display(),
                e
            );
            return Ok(None);
        }
    };
    if !flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
        let wait = match queue {
            Queue::Wait => true,
            // One run at most is ahead of us.
            Queue::Max(n) => 1 < n,
            Queue::No => false,
        };
        if !wait {
            let msg = match read_holder(&mut file) {
                Some(h) => h.message(),
                None => "Another state run is in progress".to_string(),
            };
            return Err(Conflict(vec![msg]));
        }
        if !flock(&file, libc::LOCK_EX) {
            return Ok(None);
        }
    }
    let jid = gen_jid();
    let line = format!("{fun}\n{}\n{jid}\n", std::process::id());
    let _ = file.set_len(0);
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.write_all(line.as_bytes());
    let _ = file.flush();
    Ok(Some(RunLock { file, jid }))
}

/// `state.running`: the conflict lines for a run in progress (none when
/// the lock is free).
pub fn running(cachedir: &Path) -> Vec<String> {
    let Ok(mut file) = open(cachedir) else {
        return vec![];
    };
    if flock(&file, libc::LOCK_SH | libc::LOCK_NB) {
        flock(&file, libc::LOCK_UN);
        return vec![];
    }
    match read_holder(&mut file) {
        Some(h) => vec![h.message()],
        None => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_conflicts_then_frees() {
        let dir = std::env::temp_dir().join(format!("brine-lock-{}", std::process::id()));
        let held = acquire(&dir, "state.apply", Queue::No)
            .expect("free")
            .expect("locked");
        let err = acquire(&dir, "state.sls", Queue::No).expect_err("conflict");
        assert!(
            err.0[0].starts_with(&format!(
                "The function \"state.apply\" is running as PID {}",
                std::process::id()
            )),
            "{:?}",
            err
        );
        assert_eq!(running(&dir).len(), 1);
        drop(held);
        assert!(running(&dir).is_empty());
        assert!(acquire(&dir, "state.sls", Queue::No).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
