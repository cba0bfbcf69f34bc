//! File-system helpers every writer shares: atomic replacement of a file
//! (temp file in the same directory, then rename), so that a failed or
//! interrupted state never leaves a half-written file behind.
//!
//! There is no fsync: readers see either the old or the new file, never a
//! mix, which is what Salt guarantees too (it writes a temp file and
//! moves it into place without syncing). Syncing every file would make a
//! run of 1,000 `file.managed` states wait on the disk 1,000 times.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Write `data` to `path` atomically. The temporary file lives beside
/// `path` (same file system, so `rename` is atomic) and is removed on any
/// error. `mode`, when given, is set on the temporary file before the
/// rename; otherwise an existing file's permission bits are kept (new
/// files get 0644 minus the umask, as `open(2)` gives).
pub fn write_atomic(path: &Path, data: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let name = name.to_string_lossy();
    // A leftover temporary file of the same name (another process that
    // reused our pid) is skipped, never overwritten.
    let mut attempts = 0;
    let (tmp, mut f) = loop {
        let tmp = temp_path(dir, &name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        f.write_all(data)?;
        let perm = match mode {
            Some(m) => Some(m),
            None => fs::metadata(path)
                .ok()
                .map(|m| m.permissions().mode() & 0o7777),
        };
        if let Some(m) = perm {
            f.set_permissions(fs::Permissions::from_mode(m))?;
        }
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A fresh, unlikely-to-collide temporary name `.<name>.brine-<pid>-<n>`.
fn temp_path(dir: &Path, name: &str) -> PathBuf {
    let n = TEMP_N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    dir.join(format!(".{name}.brine-{}-{n}", pid()))
}

/// The counter of [`temp_path`].
static TEMP_N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The process id, asked once (a forked child that writes files gets
/// the parent's in its temporary names, which `create_new` and the retry
/// in [`write_atomic`] make harmless).
fn pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// The process umask as last seen or set through [`set_umask`];
/// `u32::MAX` until first read.
static UMASK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(u32::MAX);

/// The process file mode creation mask. Read from the kernel once, then
/// remembered: every change of the mask in Brine goes through
/// [`set_umask`] (a forked child's own `umask(2)` does not count).
pub fn umask() -> u32 {
    use std::sync::atomic::Ordering;
    let cached = UMASK.load(Ordering::SeqCst);
    if cached != u32::MAX {
        return cached;
    }
    // SAFETY: umask(2) cannot fail; the old value is put back at once.
    let m = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m as u32
    };
    UMASK.store(m, Ordering::SeqCst);
    m
}

/// Set the process umask (`umask(2)`), returning the previous one.
pub fn set_umask(mask: u32) -> u32 {
    use std::sync::atomic::Ordering;
    // SAFETY: umask(2) only swaps the process file mode creation mask.
    let old = unsafe { libc::umask(mask as libc::mode_t) } as u32;
    UMASK.store(mask & 0o777, Ordering::SeqCst);
    old
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_mode() {
        let dir = std::env::temp_dir().join(format!("brine-fsutil-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p, b"new", None).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_atomic(&p, b"x", Some(0o640)).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        // A missing directory is an error, and leaves nothing.
        assert!(write_atomic(&dir.join("no/such/f"), b"x", None).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn umask_is_remembered_and_set() {
        let before = umask();
        let old = set_umask(0o027);
        assert_eq!(old, before);
        assert_eq!(umask(), 0o027);
        set_umask(before);
        assert_eq!(umask(), before);
    }

    #[test]
    fn a_leftover_temp_file_is_skipped() {
        let dir = std::env::temp_dir().join(format!("brine-fsutil-tmp-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("g");
        // Occupy the next few temporary names (other tests may take
        // some of them first: then fewer are skipped).
        let next = TEMP_N.load(std::sync::atomic::Ordering::Relaxed);
        for n in next..next + 3 {
            fs::write(dir.join(format!(".g.brine-{}-{n}", pid())), b"stale").unwrap();
        }
        write_atomic(&p, b"fresh", Some(0o640)).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"fresh");
        fs::remove_dir_all(&dir).unwrap();
    }
}
