//! The master's key store, in Salt's pki layout (salt/key.py):
//! `pki_dir/master.pem` + `master.pub` (the master's own RSA pair) and one
//! file per minion, named by the minion id, holding its public key PEM, in
//! `minions/` (accepted), `minions_pre/` (pending), `minions_rejected/` and
//! `minions_denied/` (a second key offered for an already accepted id).
//!
//! Safety: an id that is not [`valid_id`] never reaches the file system;
//! key files are written atomically; a key file that is a symlink is only
//! followed when it resolves inside `pki_dir`.
//!
//! The rotate marker is Salt's `cachedir/.dfn` (salt.crypt.dropfile):
//! `brine-key` drops it when a key is deleted or rejected, the daemon takes
//! it and rotates its AES session key so the removed minion can no longer
//! read publications.

use brine_core::fsutil::write_atomic;
use brine_core::wire::keys::{self as wkeys, PrivateKey};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a key store operation failed.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("invalid minion id {0:?}")]
    InvalidId(String),
    #[error("{path}: refusing to follow a symlink out of the pki dir")]
    Symlink { path: String },
    #[error(transparent)]
    Key(#[from] wkeys::KeyError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Where a minion key sits (Salt's `minions`, `minions_pre`,
/// `minions_rejected`, `minions_denied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyState {
    Accepted,
    Pending,
    Rejected,
    Denied,
}

impl KeyState {
    /// All states, in Salt's listing order.
    pub const ALL: [KeyState; 4] = [
        KeyState::Accepted,
        KeyState::Pending,
        KeyState::Rejected,
        KeyState::Denied,
    ];

    /// The directory name under pki_dir (Salt's ACC/PEND/REJ/DEN).
    pub fn dir_name(self) -> &'static str {
        match self {
            KeyState::Accepted => "minions",
            KeyState::Pending => "minions_pre",
            KeyState::Rejected => "minions_rejected",
            KeyState::Denied => "minions_denied",
        }
    }

    /// The heading salt-key prints (`Accepted Keys:` ...).
    pub fn heading(self) -> &'static str {
        match self {
            KeyState::Accepted => "Accepted Keys:",
            KeyState::Pending => "Unaccepted Keys:",
            KeyState::Rejected => "Rejected Keys:",
            KeyState::Denied => "Denied Keys:",
        }
    }

    /// Parse `salt-key -l` names (Salt's `list_status` prefixes).
    pub fn parse(s: &str) -> Option<KeyState> {
        if s.starts_with("acc") {
            Some(KeyState::Accepted)
        } else if s.starts_with("pre") || s.starts_with("un") {
            Some(KeyState::Pending)
        } else if s.starts_with("rej") {
            Some(KeyState::Rejected)
        } else if s.starts_with("den") {
            Some(KeyState::Denied)
        } else {
            None
        }
    }
}

/// `salt.utils.verify.valid_id`: no `/`, `\` or NUL, not empty, not `.` or
/// `..` (which would not name a file directly inside the key directory).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id != "." && id != ".." && !id.contains(['/', '\\', '\0']) && id.len() <= 255
}

/// Salt's `.dfn` marker: ask the master to rotate its AES key. Written as
/// `.dfn-next` (mode 0400) and renamed, as salt.crypt.dropfile does; an
/// existing marker is left alone. Errors are ignored (best effort, as Salt).
pub fn drop_rotate_marker(cachedir: &Path) {
    let dfn = cachedir.join(".dfn");
    if dfn.is_file() {
        return;
    }
    let _ = fs::create_dir_all(cachedir);
    let _ = write_atomic(&dfn, b"", Some(0o400));
}

/// Take the `.dfn` marker if present (remove it) and say whether it was
/// there: the daemon then rotates its AES session key.
pub fn take_rotate_marker(cachedir: &Path) -> bool {
    let dfn = cachedir.join(".dfn");
    match fs::symlink_metadata(&dfn) {
        Ok(_) => fs::remove_file(&dfn).is_ok(),
        Err(_) => false,
    }
}

/// `salt.utils.crypt.pem_finger(path=...)`: sha256 over the key file's
/// non-blank lines without the first and last (armour) lines, each line
/// keeping its newline (`\r\n` read as `\n`), as colon-separated hex.
/// This is what `salt-key -f` prints; it differs from hashing the PEM body
/// without newlines.
pub fn file_finger(text: &str) -> String {
    brine_core::wire::keys::pem_finger(text)
}

/// The key store over one pki_dir.
#[derive(Debug, Clone)]
pub struct KeyStore {
    pki_dir: PathBuf,
}

impl KeyStore {
    /// Open (and create as Salt's verify_env does, mode 0700) the pki dir
    /// and its four minion key directories.
    pub fn new(pki_dir: &Path) -> Result<KeyStore, KeyError> {
        let mut b = fs::DirBuilder::new();
        b.recursive(true).mode(0o700);
        b.create(pki_dir).map_err(io_err(pki_dir))?;
        for st in KeyState::ALL {
            let d = pki_dir.join(st.dir_name());
            b.create(&d).map_err(io_err(&d))?;
        }
        // Salt also creates minions_autosign.
        let d = pki_dir.join("minions_autosign");
        b.create(&d).map_err(io_err(&d))?;
        Ok(KeyStore {
            pki_dir: pki_dir.to_path_buf(),
        })
    }

    /// Open a pki dir without creating anything (what salt-key does).
    pub fn open(pki_dir: &Path) -> KeyStore {
        KeyStore {
            pki_dir: pki_dir.to_path_buf(),
        }
    }

    /// Salt's `local_keys`: the `*.pem` / `*.pub` files directly in
    /// pki_dir (master.pem, master.pub ...), sorted case-insensitively.
    pub fn local_keys(&self) -> Vec<String> {
        let mut names: Vec<String> = match fs::read_dir(&self.pki_dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".pem") || n.ends_with(".pub"))
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
        names
    }

    /// The text of a local key file (`master.pub` ...), if it is a plain
    /// file directly in pki_dir.
    pub fn local_key_text(&self, name: &str) -> Option<String> {
        if !valid_id(name) {
            return None;
        }
        self.read_key(&self.pki_dir.join(name))
    }

    /// The pki dir this store manages.
    pub fn pki_dir(&self) -> &Path {
        &self.pki_dir
    }

    /// Load `master.pem`, or generate `master.pem` (0400) and `master.pub`
    /// (0644) of `bits` bits when missing. A missing `master.pub` beside an
    /// existing `master.pem` is rewritten from it.
    pub fn master_key(&self, bits: usize) -> Result<PrivateKey, KeyError> {
        let key = wkeys::gen_keys(&self.pki_dir, "master", bits)?;
        let pub_path = self.pki_dir.join("master.pub");
        if !pub_path.is_file() {
            write_atomic(
                &pub_path,
                key.public_key().to_pem()?.as_bytes(),
                Some(0o644),
            )
            .map_err(io_err(&pub_path))?;
        }
        Ok(key)
    }

    /// The text of `master.pub`, if present.
    pub fn master_pub_pem(&self) -> Option<String> {
        fs::read_to_string(self.pki_dir.join("master.pub")).ok()
    }

    fn key_path(&self, state: KeyState, id: &str) -> Option<PathBuf> {
        if !valid_id(id) {
            return None;
        }
        Some(self.pki_dir.join(state.dir_name()).join(id))
    }

    /// Read a key file, refusing symlinks that leave pki_dir.
    fn read_key(&self, path: &Path) -> Option<String> {
        let meta = fs::symlink_metadata(path).ok()?;
        if meta.file_type().is_symlink() {
            let target = fs::canonicalize(path).ok()?;
            let root = fs::canonicalize(&self.pki_dir).ok()?;
            if !target.starts_with(&root) {
                return None;
            }
        } else if !meta.is_file() {
            return None;
        }
        fs::read_to_string(path).ok()
    }

    /// Where `id`'s key is and its PEM text (first state in Salt's order).
    pub fn state(&self, id: &str) -> Option<(KeyState, String)> {
        KeyState::ALL.into_iter().find_map(|st| {
            let p = self.key_path(st, id)?;
            self.read_key(&p).map(|pem| (st, pem))
        })
    }

    /// The PEM of `id` in one given state.
    pub fn pem_in(&self, state: KeyState, id: &str) -> Option<String> {
        let p = self.key_path(state, id)?;
        self.read_key(&p)
    }

    /// Every key by state, each list sorted case-insensitively as
    /// salt-key does (`sorted_ignorecase`); dot files are skipped.
    pub fn list(&self) -> BTreeMap<KeyState, Vec<String>> {
        let mut out = BTreeMap::new();
        for st in KeyState::ALL {
            let mut names: Vec<String> = match fs::read_dir(self.pki_dir.join(st.dir_name())) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| !n.starts_with('.'))
                    .collect(),
                Err(_) => Vec::new(),
            };
            names.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
            out.insert(st, names);
        }
        out
    }

    fn write_key(&self, state: KeyState, id: &str, pem: &str) -> Result<(), KeyError> {
        let p = self
            .key_path(state, id)
            .ok_or_else(|| KeyError::InvalidId(id.to_string()))?;
        if fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(KeyError::Symlink {
                path: p.display().to_string(),
            });
        }
        write_atomic(&p, pem.as_bytes(), Some(0o644)).map_err(io_err(&p))
    }

    /// Store `id`'s key as pending (minions_pre).
    pub fn add_pending(&self, id: &str, pem: &str) -> Result<(), KeyError> {
        self.write_key(KeyState::Pending, id, pem)
    }

    /// Store `id`'s key as rejected.
    pub fn add_rejected(&self, id: &str, pem: &str) -> Result<(), KeyError> {
        self.write_key(KeyState::Rejected, id, pem)
    }

    /// Store `id`'s key as denied (a different key for an accepted id).
    pub fn add_denied(&self, id: &str, pem: &str) -> Result<(), KeyError> {
        self.write_key(KeyState::Denied, id, pem)
    }

    /// Store `id`'s key as accepted directly (auto_accept / autosign).
    pub fn add_accepted(&self, id: &str, pem: &str) -> Result<(), KeyError> {
        self.write_key(KeyState::Accepted, id, pem)
    }

    /// Move `id`'s key from the first of `from` that holds it to `to`.
    /// Returns whether a key moved.
    pub fn move_key(&self, id: &str, from: &[KeyState], to: KeyState) -> Result<bool, KeyError> {
        if !valid_id(id) {
            return Err(KeyError::InvalidId(id.to_string()));
        }
        for &st in from {
            let Some(src) = self.key_path(st, id) else {
                continue;
            };
            let Some(_pem) = self.read_key(&src) else {
                continue;
            };
            let Some(dst) = self.key_path(to, id) else {
                continue;
            };
            if fs::symlink_metadata(&src).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(KeyError::Symlink {
                    path: src.display().to_string(),
                });
            }
            fs::rename(&src, &dst).map_err(io_err(&src))?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Accept a pending key (`salt-key -a`): minions_pre -> minions.
    pub fn accept(&self, id: &str) -> Result<bool, KeyError> {
        self.move_key(id, &[KeyState::Pending], KeyState::Accepted)
    }

    /// Reject a pending key (`salt-key -r`): minions_pre -> minions_rejected.
    pub fn reject(&self, id: &str) -> Result<bool, KeyError> {
        self.move_key(id, &[KeyState::Pending], KeyState::Rejected)
    }

    /// Delete `id`'s key in every state; returns the states it was in.
    pub fn delete(&self, id: &str) -> Result<Vec<KeyState>, KeyError> {
        if !valid_id(id) {
            return Err(KeyError::InvalidId(id.to_string()));
        }
        self.delete_in(id, &KeyState::ALL)
    }

    /// Delete `id`'s key in the given states; returns where it was.
    pub fn delete_in(&self, id: &str, states: &[KeyState]) -> Result<Vec<KeyState>, KeyError> {
        let mut gone = Vec::new();
        for &st in states {
            let Some(p) = self.key_path(st, id) else {
                return Err(KeyError::InvalidId(id.to_string()));
            };
            if fs::symlink_metadata(&p).is_ok() {
                fs::remove_file(&p).map_err(io_err(&p))?;
                gone.push(st);
            }
        }
        Ok(gone)
    }

    /// `salt-key -f`: the state and sha256 fingerprint of `id`'s key.
    pub fn finger(&self, id: &str) -> Option<(KeyState, String)> {
        self.state(id).map(|(st, pem)| (st, file_finger(&pem)))
    }

    /// The sha256 fingerprint of master.pub.
    pub fn master_finger(&self) -> Option<String> {
        self.master_pub_pem().map(|p| file_finger(&p))
    }

    /// Set a directory's mode to 0700 (used after creating cache dirs).
    pub fn secure_dir(path: &Path) -> Result<(), KeyError> {
        fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(io_err(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("brine-keys-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn ids() {
        assert!(valid_id("web1.example.com"));
        assert!(!valid_id("a/b"));
        assert!(!valid_id("..\\x"));
        assert!(!valid_id(".."));
        assert!(!valid_id(""));
        assert!(!valid_id("a\0"));
    }

    #[test]
    fn lifecycle() {
        let d = tmp("life");
        let ks = KeyStore::new(&d).unwrap();
        for st in KeyState::ALL {
            let m = fs::metadata(d.join(st.dir_name())).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o700);
        }
        ks.add_pending("b", "PEMB\n").unwrap();
        ks.add_pending("A", "PEMA\n").unwrap();
        ks.add_pending("c", "PEMC\n").unwrap();
        assert_eq!(ks.list()[&KeyState::Pending], vec!["A", "b", "c"]);
        assert!(ks.accept("b").unwrap());
        assert!(!ks.accept("b").unwrap());
        assert_eq!(
            ks.state("b").unwrap(),
            (KeyState::Accepted, "PEMB\n".into())
        );
        assert!(ks.reject("c").unwrap());
        assert_eq!(ks.state("c").unwrap().0, KeyState::Rejected);
        assert_eq!(ks.delete("c").unwrap(), vec![KeyState::Rejected]);
        assert!(ks.state("c").is_none());
        assert!(ks.add_pending("../x", "p").is_err());
        assert!(ks.state("../master.pem").is_none());
        // A symlink out of the pki dir is not followed.
        std::os::unix::fs::symlink("/etc/hostname", d.join("minions/evil")).unwrap();
        assert!(ks.state("evil").is_none());
        assert!(ks.add_accepted("evil", "x").is_err());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn rotate_marker() {
        let d = tmp("dfn");
        assert!(!take_rotate_marker(&d));
        drop_rotate_marker(&d);
        assert!(d.join(".dfn").is_file());
        assert!(take_rotate_marker(&d));
        assert!(!take_rotate_marker(&d));
        fs::remove_dir_all(&d).unwrap();
    }
}
