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
    let tmp = temp_path(dir, &name.to_string_lossy());
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
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
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.brine-{}-{n}", std::process::id()))
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
}
