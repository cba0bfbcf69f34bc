//! The `FileClient` seam: resolving `salt://path` in a saltenv to bytes.
//!
//! [`LocalFileClient`] serves `file_roots` (or `pillar_roots`) from disk, as
//! `file_client: local` does. A request never leaves its roots: absolute
//! paths and `..` components are refused.

use indexmap::IndexMap;
use std::path::{Component, Path, PathBuf};

/// A file found in a saltenv.
#[derive(Debug, Clone)]
pub struct FileData {
    pub bytes: Vec<u8>,
    /// Where it lives on disk (for `tplfile`-style context and errors).
    pub local_path: PathBuf,
    /// The root it was found under.
    pub root: PathBuf,
}

/// Resolves salt:// paths.
pub trait FileClient: Send + Sync {
    /// The file at `path` (relative, without `salt://`) in `saltenv`, first
    /// root wins; `Ok(None)` when absent.
    fn get(&self, path: &str, saltenv: &str) -> std::io::Result<Option<FileData>>;
    /// Every file path (relative, `/`-separated, sorted) in `saltenv`.
    fn list_files(&self, saltenv: &str) -> Vec<String>;
    /// Every directory path (relative, sorted) in `saltenv`.
    fn list_dirs(&self, saltenv: &str) -> Vec<String>;
    /// The environments, in configuration order.
    fn envs(&self) -> Vec<String>;
}

/// A file client over local directories: saltenv -> ordered roots.
#[derive(Debug, Clone, Default)]
pub struct LocalFileClient {
    pub roots: IndexMap<String, Vec<PathBuf>>,
}

/// Strip `salt://` and reject paths that would leave the roots.
pub fn clean_relative(path: &str) -> Option<PathBuf> {
    let path = path.strip_prefix("salt://").unwrap_or(path);
    let path = path.split('?').next().unwrap_or(path);
    let p = Path::new(path);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

impl LocalFileClient {
    pub fn new(roots: IndexMap<String, Vec<PathBuf>>) -> Self {
        LocalFileClient { roots }
    }

    fn walk(&self, saltenv: &str, dirs: bool) -> Vec<String> {
        let mut out = std::collections::BTreeSet::new();
        for root in self.roots.get(saltenv).into_iter().flatten() {
            let mut stack = vec![root.clone()];
            while let Some(dir) = stack.pop() {
                let Ok(rd) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in rd.flatten() {
                    let p = e.path();
                    let Ok(rel) = p.strip_prefix(root) else {
                        continue;
                    };
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    if p.is_dir() {
                        if dirs {
                            out.insert(rel);
                        }
                        stack.push(p);
                    } else if !dirs {
                        out.insert(rel);
                    }
                }
            }
        }
        out.into_iter().collect()
    }
}

impl FileClient for LocalFileClient {
    fn get(&self, path: &str, saltenv: &str) -> std::io::Result<Option<FileData>> {
        let Some(rel) = clean_relative(path) else {
            return Ok(None);
        };
        for root in self.roots.get(saltenv).into_iter().flatten() {
            let full = root.join(&rel);
            if full.is_file() {
                let bytes = std::fs::read(&full)?;
                return Ok(Some(FileData {
                    bytes,
                    local_path: full,
                    root: root.clone(),
                }));
            }
        }
        Ok(None)
    }

    fn list_files(&self, saltenv: &str) -> Vec<String> {
        self.walk(saltenv, false)
    }

    fn list_dirs(&self, saltenv: &str) -> Vec<String> {
        self.walk(saltenv, true)
    }

    fn envs(&self) -> Vec<String> {
        self.roots.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_out_of_roots() {
        assert!(clean_relative("../etc/passwd").is_none());
        assert!(clean_relative("/etc/passwd").is_none());
        assert!(clean_relative("salt://a/../../b").is_none());
        assert_eq!(
            clean_relative("salt://a/b.sls").unwrap(),
            PathBuf::from("a/b.sls")
        );
    }
}
