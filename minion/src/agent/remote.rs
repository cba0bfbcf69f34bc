//! The master as a file server and pillar source for job contexts: a
//! [`FileClient`] over the request channel (`_file_hash`, `_serve_file` in
//! chunks as `fileclient.RemoteClient.get_file` does, `_file_list`,
//! `_dir_list`, `_file_envs`) with a local cache under
//! `cachedir/files/<saltenv>/` keyed by hash, and the pillar compiled by the
//! master (`_pillar`, decoded by `crypted_transfer_decode_dictentry`).

use super::channel::MasterChannel;
use brine_core::fileclient::{clean_relative, FileClient, FileData};
use brine_core::value::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Largest file fetched from the master (a bound on `_serve_file` loops).
const MAX_FILE: usize = 1 << 30;
/// How long one file-server request may take.
const FILE_TIMEOUT: Duration = Duration::from_secs(60);

fn s(v: &str) -> Value {
    Value::from(v)
}

fn load(cmd: &str, pairs: &[(&str, Value)]) -> Map {
    let mut m = Map::default();
    m.insert(s("cmd"), s(cmd));
    for (k, v) in pairs {
        m.insert(s(k), v.clone());
    }
    m
}

/// `salt.utils.hashutils.get_hash` of bytes (md5, sha1, sha256, sha512).
pub fn hash_bytes(data: &[u8], hash_type: &str) -> Option<String> {
    crate::modules::file::hash_hex(data, hash_type)
}

/// A file client over the master, memoising listings for its lifetime
/// (one job), as a `RemoteClient` instance does.
pub struct RemoteFileClient {
    chan: Arc<MasterChannel>,
    cachedir: PathBuf,
    lists: Mutex<HashMap<(String, bool), Vec<String>>>,
    envs: Mutex<Option<Vec<String>>>,
}

impl RemoteFileClient {
    pub fn new(chan: Arc<MasterChannel>, cachedir: &Path) -> RemoteFileClient {
        RemoteFileClient {
            chan,
            cachedir: cachedir.to_path_buf(),
            lists: Mutex::new(HashMap::new()),
            envs: Mutex::new(None),
        }
    }

    fn req(&self, m: Map) -> std::io::Result<Value> {
        self.chan
            .request(m, FILE_TIMEOUT, 1)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    fn listing(&self, cmd: &str, saltenv: &str, dirs: bool) -> Vec<String> {
        let key = (saltenv.to_string(), dirs);
        if let Some(v) = self.lists.lock().ok().and_then(|l| l.get(&key).cloned()) {
            return v;
        }
        let m = load(cmd, &[("saltenv", s(saltenv)), ("prefix", s(""))]);
        let out: Vec<String> = match self.req(m) {
            Ok(Value::List(l)) => l
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            Ok(_) => Vec::new(),
            Err(e) => {
                tracing::error!("{cmd} from the master failed: {e}");
                return Vec::new();
            }
        };
        let mut out = out;
        out.sort();
        if let Ok(mut l) = self.lists.lock() {
            l.insert(key, out.clone());
        }
        out
    }

    fn fetch(
        &self,
        rel: &str,
        saltenv: &str,
        dest: &Path,
        hsum: &str,
        htype: &str,
    ) -> std::io::Result<Vec<u8>> {
        let mut data = Vec::new();
        // Each round returns at least one byte or ends the loop, and the
        // total is bounded.
        loop {
            let m = load(
                "_serve_file",
                &[
                    ("path", s(rel)),
                    ("saltenv", s(saltenv)),
                    ("loc", Value::Int(data.len() as i128)),
                ],
            );
            let ret = self.req(m)?;
            let chunk: &[u8] = match ret.get("data") {
                Some(Value::Bytes(b)) => b,
                Some(Value::Str(t)) => t.as_bytes(),
                _ => &[],
            };
            if chunk.is_empty() {
                break;
            }
            if ret.get("gzip").is_some_and(Value::truthy) {
                return Err(std::io::Error::other("gzip transfer was not requested"));
            }
            data.extend_from_slice(chunk);
            if data.len() > MAX_FILE {
                return Err(std::io::Error::other("file too large"));
            }
        }
        if hash_bytes(&data, htype).as_deref() != Some(hsum) {
            return Err(std::io::Error::other(format!(
                "salt://{rel} changed or was corrupted during transfer (hash mismatch)"
            )));
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        brine_core::fsutil::write_atomic(dest, &data, Some(0o644))?;
        Ok(data)
    }
}

impl FileClient for RemoteFileClient {
    fn get(&self, path: &str, saltenv: &str) -> std::io::Result<Option<FileData>> {
        let Some(rel) = clean_relative(path) else {
            return Ok(None);
        };
        let rel_s = rel.to_string_lossy().replace('\\', "/");
        if rel_s.is_empty() {
            return Ok(None);
        }
        let Some(env_rel) = clean_relative(saltenv) else {
            return Ok(None);
        };
        let ret = self.req(load(
            "_file_hash",
            &[("path", s(&rel_s)), ("saltenv", s(saltenv))],
        ))?;
        let (Some(hsum), htype) = (
            ret.get("hsum").and_then(Value::as_str),
            ret.get("hash_type")
                .and_then(Value::as_str)
                .unwrap_or("sha256"),
        ) else {
            return Ok(None);
        };
        let root = self.cachedir.join("files").join(env_rel);
        let dest = root.join(&rel);
        let bytes = match std::fs::read(&dest) {
            Ok(b) if hash_bytes(&b, htype).as_deref() == Some(hsum) => b,
            _ => self.fetch(&rel_s, saltenv, &dest, hsum, htype)?,
        };
        Ok(Some(FileData {
            bytes,
            local_path: dest,
            root,
        }))
    }

    fn list_files(&self, saltenv: &str) -> Vec<String> {
        self.listing("_file_list", saltenv, false)
    }

    fn list_dirs(&self, saltenv: &str) -> Vec<String> {
        self.listing("_dir_list", saltenv, true)
            .into_iter()
            .filter(|d| !d.is_empty() && d != ".")
            .collect()
    }

    fn envs(&self) -> Vec<String> {
        if let Some(e) = self.envs.lock().ok().and_then(|e| e.clone()) {
            return e;
        }
        let out: Vec<String> = match self.req(load("_file_envs", &[])) {
            Ok(Value::List(l)) => l
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => vec!["base".to_string()],
        };
        if let Ok(mut e) = self.envs.lock() {
            *e = Some(out.clone());
        }
        out
    }
}

/// The agent's [`crate::modules::Remote`]: files and pillar from the master.
pub struct AgentRemote {
    pub chan: Arc<MasterChannel>,
    pub cachedir: PathBuf,
}

impl crate::modules::Remote for AgentRemote {
    fn file_client(&self) -> Arc<dyn FileClient> {
        Arc::new(RemoteFileClient::new(self.chan.clone(), &self.cachedir))
    }

    fn pillar(
        &self,
        opts: &Value,
        grains: &Value,
        pillar_override: Option<&Value>,
    ) -> Result<Value, String> {
        let get = |k: &str| opts.get(k).cloned().unwrap_or(Value::Null);
        let m = load(
            "_pillar",
            &[
                ("id", s(&self.chan.opts.id)),
                ("grains", grains.clone()),
                ("saltenv", get("saltenv")),
                ("pillarenv", get("pillarenv")),
                (
                    "pillar_override",
                    pillar_override.cloned().unwrap_or_else(Value::map),
                ),
                ("extra_minion_data", Value::map()),
                ("ver", s("2")),
            ],
        );
        match self
            .chan
            .request_private(m, "pillar", Duration::from_secs(60))
        {
            Ok(Value::Map(p)) => Ok(Value::Map(p)),
            Ok(Value::Null) => Ok(Value::map()),
            Ok(other) => Err(format!("the master sent a {} as pillar", other.type_name())),
            Err(e) => Err(e.to_string()),
        }
    }

    fn request(&self, load: Map) -> Result<Value, String> {
        self.chan
            .request(load, Duration::from_secs(60), 1)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_salt_names() {
        assert_eq!(
            hash_bytes(b"abc", "sha256").unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hash_bytes(b"abc", "md5").unwrap(),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert!(hash_bytes(b"abc", "nope").is_none());
    }
}
