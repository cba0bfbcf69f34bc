//! `file.managed` (salt/states/file.py `managed`, with salt/modules/file.py
//! `source_list`, `get_managed`, `check_managed_changes` and `manage_file`
//! underneath): a file's contents from `source` (salt://, file://, a local
//! path, http:// with `source_hash`) or `contents`/`contents_pillar`/
//! `contents_grains`, optionally rendered as a Jinja template, plus its
//! user/group/mode. Every write goes through
//! [`brine_core::fsutil::write_atomic`], after the new contents are fully
//! known: a failed fetch or render leaves the old file untouched.

use crate::modules::file as fmod;
use crate::states::{Ret, StateCall};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use std::path::Path;

/// The parameters `file.managed` declares (the rest of the low chunk is
/// `**kwargs`, which templates see).
const PARAMS: &[&str] = &[
    "name",
    "source",
    "source_hash",
    "source_hash_name",
    "keep_source",
    "user",
    "group",
    "mode",
    "attrs",
    "template",
    "makedirs",
    "dir_mode",
    "context",
    "replace",
    "defaults",
    "backup",
    "show_changes",
    "create",
    "contents",
    "tmp_dir",
    "tmp_ext",
    "contents_pillar",
    "contents_grains",
    "contents_newline",
    "contents_delimiter",
    "encoding",
    "encoding_errors",
    "allow_empty",
    "follow_symlinks",
    "check_cmd",
    "skip_verify",
    "selinux",
    "verify_ssl",
    "use_etag",
    "signature",
    "source_hash_sig",
    "signed_by_any",
    "signed_by_all",
    "keyring",
    "gnupghome",
];

/// `call.get(key)` without building a key: the argument, `None` when
/// absent or null.
fn arg<'a>(call: &StateCall<'a>, key: &str) -> Option<&'a Value> {
    crate::runtime::get(call.low, key).filter(|v| !v.is_null())
}

/// `call.bool_or(key, default)`, looked up without building a key.
fn bool_arg(call: &StateCall, key: &str, default: bool) -> Result<bool, String> {
    match arg(call, key) {
        None => Ok(default),
        Some(_) => call.bool_or(key, default),
    }
}

/// `call.opt_str(key)`, looked up without building a key.
fn str_arg(call: &StateCall, key: &str) -> Result<Option<String>, String> {
    match arg(call, key) {
        None => Ok(None),
        Some(_) => call.opt_str(key),
    }
}

/// Salt's `_error`.
pub(crate) fn error(mut ret: Ret, msg: impl Into<String>) -> Ret {
    ret.result = Some(false);
    ret.comment = Value::Str(msg.into());
    ret
}

/// `urllib.parse.urlparse(s)` reduced to (scheme, netloc, path).
pub(crate) fn urlparse(s: &str) -> (String, String, String) {
    let mut scheme = String::new();
    let mut rest = s;
    if let Some(i) = s.find(':') {
        let cand = &s[..i];
        if !cand.is_empty()
            && cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand.to_ascii_lowercase();
            rest = &s[i + 1..];
        }
    }
    let (mut netloc, mut path) = (String::new(), rest.to_string());
    if let Some(r) = rest.strip_prefix("//") {
        let end = r.find(['/', '?', '#']).unwrap_or(r.len());
        netloc = r[..end].to_string();
        path = r[end..].to_string();
    }
    if let Some(i) = path.find(['?', '#']) {
        path.truncate(i);
    }
    (scheme, netloc, path)
}

/// `salt.utils.url.parse`: `salt://path?saltenv=env` -> (path, env).
pub(crate) fn salt_url_parse(url: &str) -> (String, Option<String>) {
    let Some(rest) = url.strip_prefix("salt://") else {
        return (url.to_string(), None);
    };
    match rest.split_once('?') {
        Some((p, q)) => {
            let env = q
                .split('&')
                .find_map(|kv| kv.strip_prefix("saltenv="))
                .map(str::to_string);
            (p.to_string(), env)
        }
        None => (rest.to_string(), None),
    }
}

/// A fetched source file.
pub(crate) struct Fetched {
    pub bytes: Vec<u8>,
    /// Where it came from on disk (local sources, salt:// roots).
    pub local_path: Option<std::path::PathBuf>,
}

/// Fetch `source` (salt://, file://, an absolute path, http://): `Ok(None)`
/// when it does not exist.
pub(crate) fn fetch(call: &StateCall, source: &str) -> Result<Option<Fetched>, String> {
    let (scheme, netloc, path) = urlparse(source);
    match scheme.as_str() {
        "salt" => {
            let (p, env) = salt_url_parse(source);
            let env = env.unwrap_or_else(|| call.saltenv.to_string());
            let got = call
                .files
                .get(&p, &env)
                .map_err(|e| format!("Failed to cache {source}: {e}"))?;
            Ok(got.map(|f| Fetched {
                bytes: f.bytes,
                local_path: Some(f.local_path),
            }))
        }
        "http" => http_get(source).map(|b| {
            Some(Fetched {
                bytes: b,
                local_path: None,
            })
        }),
        "https" | "ftp" | "s3" | "swift" => Err(format!(
            "Failed to cache {source}: the {scheme} protocol is not supported by Brine"
        )),
        _ => {
            let local = if scheme == "file" {
                fmod::py_join(&[netloc, path])
            } else {
                source.to_string()
            };
            match std::fs::read(&local) {
                Ok(b) => Ok(Some(Fetched {
                    bytes: b,
                    local_path: Some(local.into()),
                })),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("Failed to read {local}: {e}")),
            }
        }
    }
}

/// A plain HTTP/1.0 GET (no TLS): the body, or an error naming the URL.
pub(crate) fn http_get(url: &str) -> Result<Vec<u8>, String> {
    use std::io::{Read, Write};
    let fail = |e: &dyn std::fmt::Display| format!("Failed to cache {url}: {e}");
    let (_, netloc, path) = urlparse(url);
    let path = if path.is_empty() { "/".into() } else { path };
    let query = url.find('?').map(|i| &url[i..]).unwrap_or("");
    let host = netloc.rsplit('@').next().unwrap_or(&netloc).to_string();
    let addr = if host.contains(':') {
        host.clone()
    } else {
        format!("{host}:80")
    };
    let mut s = std::net::TcpStream::connect(&addr).map_err(|e| fail(&e))?;
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(60)));
    let req =
        format!("GET {path}{query} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: Salt/3007.8\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(|e| fail(&e))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| fail(&e))?;
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(fail(&"malformed HTTP response"));
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if status != 200 {
        let reason = head.lines().next().unwrap_or("").to_string();
        return Err(fail(&format!("Error {status} reading {url}: {reason}")));
    }
    Ok(buf[end + 4..].to_vec())
}

/// The hash type for a hex digest of this length.
fn hash_type_of(len: usize) -> Option<&'static str> {
    Some(match len {
        32 => "md5",
        40 => "sha1",
        64 => "sha256",
        128 => "sha512",
        _ => return None,
    })
}

/// `file.get_source_sum` for a hash string (`sha256=...` or a bare digest)
/// or a hash file (salt://, local, http) holding digests; `(type, hex)`.
pub(crate) fn source_sum(
    call: &StateCall,
    source: &str,
    source_hash: &str,
    source_hash_name: Option<&str>,
) -> Result<(String, String), String> {
    let invalid = || {
        format!(
            "Source hash {source_hash} format is invalid. The supported formats are: \
             1) a hash, 2) an expression in the format <hash_type>=<hash>, or 3) \
             either a path to a local file containing hashes, or a URI of a remote \
             hash file. Supported protocols for remote hash files are: salt, file, \
             http, https, ftp, swift, s3. The hash may also not be of a valid length, \
             the following are supported hash types and lengths: md5 (32), sha1 (40), \
             sha224 (56), sha256 (64), sha384 (96), sha512 (128)."
        )
    };
    let (scheme, _, _) = urlparse(source_hash);
    let is_file = !scheme.is_empty() || source_hash.starts_with('/');
    if !is_file {
        let (form, hex) = match source_hash.split_once('=') {
            Some((f, h)) => (f.trim().to_ascii_lowercase(), h.trim().to_ascii_lowercase()),
            None => {
                let h = source_hash.trim().to_ascii_lowercase();
                let Some(f) = hash_type_of(h.len()) else {
                    return Err(invalid());
                };
                (f.to_string(), h)
            }
        };
        if hash_type_of(hex.len()) != Some(form.as_str())
            || !hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(invalid());
        }
        return Ok((form, hex));
    }
    let Some(f) = fetch(call, source_hash)? else {
        return Err(format!("Source hash file {source_hash} not found"));
    };
    let text = String::from_utf8_lossy(&f.bytes);
    let want = source_hash_name
        .map(str::to_string)
        .unwrap_or_else(|| fmod::py_basename(&urlparse(source).2).to_string());
    let mut first = None;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(w) = words.next() else { continue };
        let w = w.split_once('=').map(|(_, h)| h).unwrap_or(w);
        let Some(form) = hash_type_of(w.len()).filter(|_| w.chars().all(|c| c.is_ascii_hexdigit()))
        else {
            continue;
        };
        let pair = (form.to_string(), w.to_ascii_lowercase());
        let named = words.next().map(|n| n.trim_start_matches('*'));
        if named.is_some_and(|n| n == want || fmod::py_basename(n) == want) {
            return Ok(pair);
        }
        if first.is_none() {
            first = Some(pair);
        }
    }
    first.ok_or_else(|| {
        format!("Source hash file {source_hash} contains an invalid hash format, it must be in the format <hash type>=<hash>")
    })
}

/// `file.source_list`: the first source that exists, with its hash.
pub(crate) fn source_list(
    call: &StateCall,
    source: &Value,
    source_hash: &str,
) -> Result<(String, String), String> {
    let Value::List(items) = source else {
        return Ok((str_of(source), source_hash.to_string()));
    };
    let exists = |src: &str| -> bool {
        let (scheme, netloc, path) = urlparse(src);
        match scheme.as_str() {
            "salt" => {
                let (p, env) = salt_url_parse(src);
                let env = env.unwrap_or_else(|| call.saltenv.to_string());
                let p = p.trim_end_matches('/').to_string();
                call.files.list_files(&env).contains(&p) || call.files.list_dirs(&env).contains(&p)
            }
            "http" => http_get(src).is_ok(),
            "file" => {
                Path::new(&netloc).exists()
                    || Path::new(&path).exists()
                    || Path::new(&fmod::py_join(&[netloc, path])).exists()
            }
            _ => src.starts_with('/') && Path::new(src).exists(),
        }
    };
    for single in items {
        match single {
            Value::Map(m) => {
                if m.len() != 1 {
                    continue;
                }
                let Some((k, v)) = m.iter().next() else {
                    continue;
                };
                let src = str_of(k);
                let h = if v.truthy() {
                    str_of(v)
                } else {
                    source_hash.to_string()
                };
                if exists(&src) {
                    return Ok((src, h));
                }
            }
            Value::Str(s) if exists(s) => {
                return Ok((s.clone(), source_hash.to_string()));
            }
            _ => {}
        }
    }
    Err("none of the specified sources were found".into())
}

/// `_validate_str_list` + the line joining of `file.managed`: every line
/// ends in "\n" (unless `contents_newline` is false: then trailing line
/// breaks are removed).
pub(crate) fn join_contents(v: &Value, newline: bool) -> String {
    // A string whose only line break is "\n" is already joined: it only
    // needs its last line ended.
    if let Value::Str(s) = v {
        let plain = s
            .bytes()
            .all(|b| b < 0x80 && !matches!(b, b'\r' | 0x0b | 0x0c | 0x1c..=0x1e));
        if plain {
            let mut out = String::with_capacity(s.len() + 1);
            out.push_str(s);
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if !newline {
                let t = out.trim_end_matches('\n').len();
                out.truncate(t);
            }
            return out;
        }
    }
    let parts: Vec<String> = match v {
        Value::Str(s) => vec![s.clone()],
        Value::Bytes(b) => vec![String::from_utf8_lossy(b).into_owned()],
        Value::List(l) => l.iter().map(str_of).collect(),
        other => vec![str_of(other)],
    };
    let mut out = String::new();
    for part in &parts {
        for line in brine_core::output::nested::splitlines(part) {
            out.push_str(line.trim_end_matches('\n').trim_end_matches('\r'));
            out.push('\n');
        }
    }
    if !newline {
        let t = out.trim_end_matches('\n').trim_end_matches('\r').len();
        out.truncate(t);
    }
    out
}

/// Render `text` as a `template` (only `jinja` in Brine) with Salt's file
/// template context plus `extra` (name, source, user, context, ...).
pub(crate) fn render(
    call: &StateCall,
    template: &str,
    text: &[u8],
    tmplpath: &str,
    extra: Map,
) -> Result<Vec<u8>, String> {
    match template {
        "jinja" => {}
        "mako" | "py" | "wempy" | "genshi" | "cheetah" => {
            return Err(format!(
                "Specified template format {template} is not supported by Brine"
            ))
        }
        _ => {
            return Err(format!(
                "Specified template format {template} is not supported"
            ))
        }
    }
    let Ok(text) = std::str::from_utf8(text) else {
        // Salt returns a binary template file as is.
        return Ok(text.to_vec());
    };
    let pillar = call.ctx.pillar();
    let opts = call
        .ctx
        .active_opts()
        .map(|o| (*o).clone())
        .unwrap_or_else(|| call.ctx.opts.clone());
    let rctx = brine_core::render::RenderContext {
        opts: &opts,
        grains: call.ctx.grains(),
        pillar: &pillar,
        saltenv: call.saltenv,
        sls: "",
        functions: call.ctx,
        file_client: call.files,
        extra,
    };
    brine_core::render::render_template(text, tmplpath, &rctx)
        .map(String::into_bytes)
        .map_err(|e| e.message)
}

/// The merged `defaults` + `context` dict.
fn context_dict(defaults: Option<Map>, context: Option<Map>) -> Map {
    let mut m = defaults.unwrap_or_default();
    if let Some(c) = context {
        m.extend(c);
    }
    m
}

fn lookup_delim(data: &Value, key: &str, delim: &str) -> Option<Value> {
    data.traverse(key, delim).cloned()
}

/// `_check_user`: "User X is not available Group Y is not available".
pub(crate) fn check_user(user: Option<&Value>, group: Option<&Value>) -> String {
    let mut err = String::new();
    if let Some(u) = user.filter(|u| u.truthy()) {
        if fmod::user_value_to_uid(u).is_none() {
            err.push_str(&format!("User {} is not available ", str_of(u)));
        }
    }
    if let Some(g) = group.filter(|g| g.truthy()) {
        if fmod::group_value_to_gid(g).is_none() {
            err.push_str(&format!("Group {} is not available", str_of(g)));
        }
    }
    err
}

/// `os.path.realpath` (symlinks resolved as far as they exist).
pub(crate) fn realpath(p: &str) -> String {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c.to_string_lossy().into_owned();
    }
    // A dangling link: follow the chain as far as it goes.
    let mut cur = fmod::abspath(p);
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&cur) else {
            break;
        };
        let t = target.to_string_lossy().into_owned();
        cur = fmod::abspath(&fmod::py_join(&[fmod::py_dirname(&cur), t]));
    }
    cur
}

/// What one look at a path tells (`lstat`, plus `stat` for a symlink):
/// the answers of `os.path.islink`, `isfile`, `isdir` and `exists` from
/// at most two system calls instead of one each.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    /// `symlink_metadata`: the link itself for a symlink.
    lstat: Option<std::fs::Metadata>,
    /// `metadata` (links followed); `None` when missing or dangling.
    stat: Option<std::fs::Metadata>,
}

impl Probe {
    pub(crate) fn of(path: &str) -> Probe {
        let lstat = std::fs::symlink_metadata(path).ok();
        let stat = match &lstat {
            Some(m) if m.file_type().is_symlink() => std::fs::metadata(path).ok(),
            other => other.clone(),
        };
        Probe { lstat, stat }
    }

    pub(crate) fn is_link(&self) -> bool {
        self.lstat
            .as_ref()
            .is_some_and(|m| m.file_type().is_symlink())
    }

    pub(crate) fn is_file(&self) -> bool {
        self.stat.as_ref().is_some_and(|m| m.is_file())
    }

    pub(crate) fn is_dir(&self) -> bool {
        self.stat.as_ref().is_some_and(|m| m.is_dir())
    }

    pub(crate) fn exists(&self) -> bool {
        self.stat.is_some()
    }
}

/// Read a whole file whose size `stat` just gave: one `read` when the
/// file still has that size (a regular file reads short only at its end),
/// and no `fstat`.
fn read_sized(path: &str, size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let want = usize::try_from(size).unwrap_or(0);
    let mut buf = vec![0u8; want.saturating_add(1)];
    let mut got = 0;
    loop {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => {
                got += n;
                if got == want {
                    // Exactly the size seen: the end of the file.
                    break;
                }
                if got == buf.len() {
                    // It grew: read the rest the ordinary way.
                    f.read_to_end(&mut buf)?;
                    return Ok(buf);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

/// Write `data` to `path` as Salt's `copyfile` does: atomically, keeping an
/// existing file's mode and owner; a new file gets `new_mode`.
pub(crate) fn commit(path: &str, data: &[u8], new_mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let old = std::fs::metadata(path).ok();
    let mode = old.as_ref().map(|m| m.mode() & 0o7777).unwrap_or(new_mode);
    brine_core::fsutil::write_atomic(Path::new(path), data, Some(mode))?;
    if let Some(m) = old {
        let cur = std::fs::metadata(path)?;
        if cur.uid() != m.uid() || cur.gid() != m.gid() {
            std::os::unix::fs::chown(path, Some(m.uid()), Some(m.gid()))?;
            std::fs::set_permissions(
                path,
                std::os::unix::fs::PermissionsExt::from_mode(m.mode() & 0o7777),
            )?;
        }
    }
    Ok(())
}

/// The process umask (remembered by [`brine_core::fsutil::umask`]).
pub(crate) fn umask() -> u32 {
    brine_core::fsutil::umask()
}

/// `_set_mode_and_make_dirs`: the parents of `name`, with `dir_mode` (or
/// one derived from `mode`: each non-zero digit gets the execute bit).
pub(crate) fn make_parent_dirs(
    name: &str,
    dir_mode: Option<&Value>,
    mode: Option<&str>,
    user: Option<&Value>,
    group: Option<&Value>,
) -> Result<(), String> {
    let dir_mode = match (dir_mode.filter(|d| !d.is_null()), mode) {
        (Some(d), _) => Some(str_of(d)),
        (None, Some(m)) => {
            let chars: Vec<char> = m.chars().collect();
            let last3 = &chars[chars.len().saturating_sub(3)..];
            Some(
                last3
                    .iter()
                    .map(|c| match c.to_digit(8) {
                        Some(0) | None => *c,
                        Some(d) => char::from_digit(d | 1, 8).unwrap_or(*c),
                    })
                    .collect(),
            )
        }
        (None, None) => None,
    };
    fmod::makedirs(name, user, group, dir_mode.as_deref())
}

/// What the new contents are, once known.
enum Want {
    /// Bytes from a source file (already fetched/rendered), with the
    /// `source_hash` it must match (remote sources).
    Source {
        source: String,
        bytes: Vec<u8>,
        expected: Option<(String, String)>,
    },
    /// `contents` (after joining and templating).
    Contents(Vec<u8>),
    /// Neither: only existence and permissions.
    Nothing,
}

/// `file.managed`.
pub fn managed(call: &StateCall) -> Result<Ret, String> {
    let name = fmod::expanduser(&arg(call, "name").map(str_of).unwrap_or_default());
    let mut ret = Ret::new(name.as_str());
    ret.comment = Value::from("");
    if name.is_empty() {
        return Ok(error(ret, "Destination file name is required"));
    }
    let test = call.test;
    let source_v = arg(call, "source").filter(|s| s.truthy()).cloned();
    let source_hash = str_arg(call, "source_hash")?.unwrap_or_default();
    let source_hash_name = str_arg(call, "source_hash_name")?;
    let user_v = call
        .get("user")
        .or_else(|| arg(call, "owner"))
        .filter(|u| u.truthy())
        .cloned();
    let user = user_v.as_ref();
    let group = arg(call, "group").cloned();
    let group = group.as_ref();
    let mut mode_v = arg(call, "mode").cloned();
    let keep_mode = matches!(&mode_v, Some(Value::Str(s)) if s.eq_ignore_ascii_case("keep"));
    if keep_mode {
        mode_v = None;
    }
    let mut mode = fmod::normalize_mode(mode_v.as_ref());
    let template = str_arg(call, "template")?.filter(|t| !t.is_empty());
    let makedirs = bool_arg(call, "makedirs", false)?;
    let dir_mode = arg(call, "dir_mode").cloned();
    let mut replace = bool_arg(call, "replace", true)?;
    let show_changes = bool_arg(call, "show_changes", true)?;
    let create = bool_arg(call, "create", true)?;
    let contents_newline = bool_arg(call, "contents_newline", true)?;
    let delim = call
        .opt_str("contents_delimiter")?
        .unwrap_or_else(|| ":".into());
    let allow_empty = bool_arg(call, "allow_empty", true)?;
    let follow_symlinks = bool_arg(call, "follow_symlinks", true)?;
    let skip_verify = bool_arg(call, "skip_verify", false)?;
    let contents_v = crate::runtime::get(call.low, "contents").filter(|v| !v.is_null());
    let contents_pillar = arg(call, "contents_pillar");
    let contents_grains = arg(call, "contents_grains");
    let contents_count = [contents_v, contents_pillar, contents_grains]
        .iter()
        .filter(|c| c.is_some())
        .count();
    if source_v.is_some() && contents_count > 0 {
        return Ok(error(
            ret,
            "'source' cannot be used in combination with 'contents', 'contents_pillar', or 'contents_grains'",
        ));
    } else if keep_mode && contents_count > 0 {
        return Ok(error(
            ret,
            "Mode preservation cannot be used in combination with 'contents', 'contents_pillar', or 'contents_grains'",
        ));
    } else if contents_count > 1 {
        return Ok(error(
            ret,
            "Only one of 'contents', 'contents_pillar', and 'contents_grains' is permitted",
        ));
    }
    if let Some(enc) = str_arg(call, "encoding")? {
        let e = enc.to_ascii_lowercase().replace('_', "-");
        if !matches!(e.as_str(), "utf-8" | "utf8" | "u8" | "utf") {
            return Ok(error(
                ret,
                format!("file.managed: encoding '{enc}' is not supported by Brine (only UTF-8)"),
            ));
        }
    }
    if source_v.is_none() && contents_count == 0 && replace {
        replace = false;
    }
    if arg(call, "file_mode").is_some() {
        ret.extra.insert(
            Value::from("warnings"),
            Value::List(vec![Value::from(
                "The 'file_mode' argument will be ignored.  Please use 'mode' instead to set file permissions.",
            )]),
        );
    }

    // contents / contents_pillar / contents_grains
    let use_contents: Option<Value> = if let Some(cp) = contents_pillar {
        let pillar = call.ctx.pillar();
        match cp {
            Value::List(keys) => {
                let mut parts = Vec::new();
                for k in keys {
                    let k = str_of(k);
                    match lookup_delim(&pillar, &k, &delim) {
                        Some(v) => parts.push(str_of(&v)),
                        None => return Ok(error(ret, format!("Pillar {k} does not exist"))),
                    }
                }
                Some(Value::Str(parts.join("\n")))
            }
            k => {
                let k = str_of(k);
                match lookup_delim(&pillar, &k, &delim) {
                    Some(v) => Some(v),
                    None => return Ok(error(ret, format!("Pillar {k} does not exist"))),
                }
            }
        }
    } else if let Some(cg) = contents_grains {
        let grains = call.ctx.grains();
        match cg {
            Value::List(keys) => {
                let mut parts = Vec::new();
                for k in keys {
                    let k = str_of(k);
                    match lookup_delim(grains, &k, &delim) {
                        Some(v) => parts.push(str_of(&v)),
                        // Salt formats the sentinel here, not the key.
                        None => {
                            return Ok(error(
                                ret,
                                "Grain <object object> does not exist".to_string(),
                            ))
                        }
                    }
                }
                Some(Value::Str(parts.join("\n")))
            }
            k => {
                let k = str_of(k);
                match lookup_delim(grains, &k, &delim) {
                    Some(v) => Some(v),
                    None => return Ok(error(ret, format!("Grain {k} does not exist"))),
                }
            }
        }
    } else {
        contents_v.cloned()
    };
    let context = match arg(call, "context") {
        Some(Value::Map(m)) => Some(m.clone()),
        _ => None,
    };
    let defaults = match arg(call, "defaults") {
        None => None,
        Some(Value::Map(m)) => Some(m.clone()),
        Some(v) if !v.truthy() => None,
        Some(_) => return Ok(error(ret, "Defaults must be formed as a dict")),
    };
    let mut contents: Option<Vec<u8>> = None;
    if let Some(uc) = &use_contents {
        if !allow_empty && !uc.truthy() {
            let id = if let Some(p) = contents_pillar.filter(|p| p.truthy()) {
                format!("contents_pillar {}", str_of(p))
            } else if let Some(g) = contents_grains.filter(|g| g.truthy()) {
                format!("contents_grains {}", str_of(g))
            } else {
                "'contents'".into()
            };
            return Ok(error(
                ret,
                format!("{id} value would result in empty contents. Set allow_empty to True to allow the managed file to be empty."),
            ));
        }
        let joined = join_contents(uc, contents_newline);
        let data = match &template {
            Some(t) => {
                let cd = context_dict(defaults.clone(), context.clone());
                match render(call, t, joined.as_bytes(), "", cd) {
                    Ok(d) => d,
                    Err(e) => return Ok(error(ret, e)),
                }
            }
            None => joined.into_bytes(),
        };
        contents = Some(data);
    }

    let probe = Probe::of(&name);
    if !create && !probe.is_file() {
        ret.comment = Value::from(format!(
            "File {name} is not present and is not set for creation"
        ));
        return Ok(ret);
    }
    let u_check = check_user(user, group);
    if !u_check.is_empty() && !test {
        return Ok(error(ret, u_check));
    }
    if !name.starts_with('/') {
        return Ok(error(
            ret,
            format!("Specified file {name} is not an absolute path"),
        ));
    }
    if probe.is_dir() {
        return Ok(error(
            ret,
            format!("Specified target {name} is a directory"),
        ));
    }
    if matches!(arg(call, "context"), Some(v) if !matches!(v, Value::Map(_))) {
        return Ok(error(ret, "Context must be formed as a dict"));
    }
    let exists = probe.exists();

    // A remote source with a source_hash the file already has: only
    // permissions are managed (Salt skips the download).
    if contents.is_none() && template.is_none() && !skip_verify && exists && replace {
        if let Some(src) = &source_v {
            if let Ok((source, shash)) = source_list(call, src, &source_hash) {
                let (scheme, _, _) = urlparse(&source);
                if !shash.is_empty()
                    && !matches!(scheme.as_str(), "salt" | "file" | "")
                    && !source.starts_with('/')
                {
                    if let Ok((form, hex)) =
                        source_sum(call, &source, &shash, source_hash_name.as_deref())
                    {
                        let cur = std::fs::read(&name).ok();
                        if cur.and_then(|c| fmod::hash_hex(&c, &form)) == Some(hex) {
                            replace = false;
                        }
                    }
                }
            }
        }
    }

    if !replace && exists {
        let perms = fmod::check_perms_known(
            &name,
            &mut ret,
            user,
            group,
            mode_v.as_ref(),
            follow_symlinks,
            test,
            probe.lstat.as_ref(),
        )?;
        if test {
            match &mode {
                Some(m) if *m != perms.lmode => {
                    ret.comment = Value::from(format!(
                    "File {name} will be updated with permissions {m} from its current state of {}",
                    perms.lmode
                ))
                }
                _ => ret.comment = Value::from(format!("File {name} not updated")),
            }
        } else if ret.changes.is_empty() && ret.result == Some(true) {
            ret.comment = Value::from(format!(
                "File {name} exists with proper permissions. No changes made."
            ));
        }
        return Ok(ret);
    }

    // source_list + get_managed: the wanted bytes.
    let want = if let Some(c) = contents.take() {
        Want::Contents(c)
    } else if let Some(src) = &source_v {
        let (source, shash) = match source_list(call, src, &source_hash) {
            Ok(s) => s,
            Err(e) => return Ok(error(ret, format!("Unable to manage file: {e}"))),
        };
        match get_managed(
            call,
            &name,
            template.as_deref(),
            &source,
            &shash,
            source_hash_name.as_deref(),
            skip_verify,
            user,
            group,
            mode.as_deref(),
            context_dict(defaults.clone(), context.clone()),
        ) {
            Ok((bytes, expected)) => Want::Source {
                source,
                bytes,
                expected,
            },
            Err(GetManagedError::Comment(c)) => return Ok(error(ret, c)),
            Err(GetManagedError::Raised(e)) => {
                return Ok(error(ret, format!("Unable to manage file: {e}")))
            }
        }
    } else {
        Want::Nothing
    };

    if keep_mode {
        if let Want::Source { source, .. } = &want {
            let (scheme, _, _) = urlparse(source);
            if matches!(scheme.as_str(), "salt" | "file" | "") {
                if let Ok(Some(f)) = fetch(call, source) {
                    if let Some(p) = f.local_path {
                        if let Ok(md) = std::fs::metadata(&p) {
                            use std::os::unix::fs::PermissionsExt;
                            mode = Some(fmod::mode_string(md.permissions().mode()));
                        }
                    }
                }
            }
        }
    }

    if test {
        return Ok(test_changes(
            &name,
            ret,
            &want,
            user,
            group,
            mode.as_deref(),
            follow_symlinks,
            show_changes,
        ));
    }
    // The look at the file above still holds unless a source was fetched
    // (and maybe rendered) or a command ran since.
    let mut probe = match want {
        Want::Source { .. } => None,
        _ => Some(probe),
    };
    if let Some(cmd) = str_arg(call, "check_cmd")?.filter(|c| !c.is_empty()) {
        probe = None;
        if let Some(failed) = run_check_cmd(call, &name, &want, &cmd) {
            return Ok(failed);
        }
    }
    let mode_value = mode.as_ref().map(|m| Value::from(m.as_str()));
    manage_file(
        &name,
        ret,
        &want,
        user,
        group,
        mode_value.as_ref(),
        makedirs,
        dir_mode.as_ref(),
        show_changes,
        follow_symlinks,
        probe,
    )
}

/// `(hash_type, hex digest)`.
type SourceSum = (String, String);

enum GetManagedError {
    /// A comment `get_managed` returns (the state fails with it as is).
    Comment(String),
    /// An exception: "Unable to manage file: X".
    Raised(String),
}

/// `file.get_managed`: fetch (and render) the source.
#[allow(clippy::too_many_arguments)]
fn get_managed(
    call: &StateCall,
    name: &str,
    template: Option<&str>,
    source: &str,
    source_hash: &str,
    source_hash_name: Option<&str>,
    skip_verify: bool,
    user: Option<&Value>,
    group: Option<&Value>,
    mode: Option<&str>,
    context: Map,
) -> Result<(Vec<u8>, Option<SourceSum>), GetManagedError> {
    use GetManagedError::*;
    let (scheme, netloc, path) = urlparse(source);
    let saltenv = call.saltenv;
    let mut expected: Option<(String, String)> = None;
    match scheme.as_str() {
        "" => {
            if !Path::new(source).exists() {
                return Err(Comment(format!(
                    "Local file source {source} does not exist"
                )));
            }
        }
        "file" => {
            let p = fmod::py_join(&[netloc, path]);
            let p = p.trim_end_matches('/');
            if !Path::new(p).exists() {
                return Err(Comment(format!("Local file source {p} does not exist")));
            }
        }
        "salt" => {}
        _ => {
            if !skip_verify {
                if source_hash.is_empty() {
                    return Err(Comment(format!(
                        "Unable to verify upstream hash of source file {source}, please set source_hash or set skip_verify to True"
                    )));
                }
                expected =
                    Some(source_sum(call, source, source_hash, source_hash_name).map_err(Comment)?);
            }
        }
    }
    let fetched = match fetch(call, source) {
        Ok(Some(f)) => f,
        Ok(None) => {
            return Err(Comment(if scheme == "salt" {
                format!("Source file {source} not found in saltenv '{saltenv}'")
            } else {
                format!("Source file '{source}' not found")
            }))
        }
        Err(e) => return Err(Comment(e)),
    };
    if fetched.local_path.as_deref() == Some(Path::new(name)) && template.is_some() {
        return Err(Raised(
            "Source file cannot be the same as destination".into(),
        ));
    }
    let Some(t) = template else {
        return Ok((fetched.bytes, expected));
    };
    let mut extra = Map::default();
    let put = |m: &mut Map, k: &str, v: Value| {
        m.insert(Value::from(k), v);
    };
    // The state's extra keyword arguments, then Salt's named ones, then
    // `context`/`defaults` over them.
    for (k, v) in call.low {
        if let Some(ks) = k.as_str() {
            if !PARAMS.contains(&ks)
                && !ks.starts_with("__")
                && !crate::states::STATE_INTERNAL_KEYWORDS.contains(&ks)
            {
                extra.insert(k.clone(), v.clone());
            }
        }
    }
    put(&mut extra, "name", Value::from(name));
    put(&mut extra, "source", Value::from(source));
    put(&mut extra, "user", user.cloned().unwrap_or(Value::Null));
    put(&mut extra, "group", group.cloned().unwrap_or(Value::Null));
    put(
        &mut extra,
        "mode",
        mode.map(Value::from).unwrap_or(Value::Null),
    );
    put(
        &mut extra,
        "attrs",
        arg(call, "attrs").cloned().unwrap_or(Value::Null),
    );
    extra.extend(context);
    let tmplpath = fetched
        .local_path
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.to_string());
    render(call, t, &fetched.bytes, &tmplpath, extra)
        .map(|b| (b, None))
        .map_err(Raised)
}

/// `file.get_diff`'s "Failed to read X: <strerror>".
fn read_failure(path: &str, e: &std::io::Error) -> String {
    let text = e.to_string();
    let strerror = match text.find(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    format!("Failed to read {path}: {strerror}")
}

/// `check_cmd`: when the contents would change, run `check_cmd <tmp>` on
/// a temporary file holding the new contents (`mod_run_check_cmd`); a
/// failed command fails the state and nothing is written.
fn run_check_cmd(call: &StateCall, name: &str, want: &Want, cmd: &str) -> Option<Ret> {
    let new = match want {
        Want::Source { bytes, .. } => bytes,
        Want::Contents(c) => c,
        Want::Nothing => return None,
    };
    if std::fs::read(name).ok().as_deref() == Some(new.as_slice()) {
        return None;
    }
    let tmp = std::env::temp_dir().join(format!(
        "__salt.tmp.brine-{}-{}",
        std::process::id(),
        fmod::py_basename(name)
    ));
    let fail = |msg: String| {
        let mut r = Ret::new(name).with(Some(false), msg);
        r.extra.insert(Value::from("skip_watch"), Value::Bool(true));
        r
    };
    if let Err(e) = brine_core::fsutil::write_atomic(&tmp, new, Some(0o600)) {
        return Some(fail(format!("Unable to check_cmd file: {e}")));
    }
    let line = format!("{cmd} {}", tmp.display());
    let out = call
        .ctx
        .call_raw("cmd.run_all", vec![Value::from(line)], Map::default());
    let _ = std::fs::remove_file(&tmp);
    let out = match out {
        Ok(o) => o,
        Err(e) => return Some(fail(format!("Unable to check_cmd file: {e}"))),
    };
    let retcode = out.get("retcode").and_then(Value::as_int).unwrap_or(1);
    if retcode == 0 {
        return None;
    }
    let mut comment = String::from("check_cmd execution failed");
    for k in ["stdout", "stderr"] {
        if let Some(t) = out.get(k).map(str_of).filter(|t| !t.is_empty()) {
            comment.push('\n');
            comment.push_str(&t);
        }
    }
    Some(fail(comment))
}

/// Test mode: `check_managed_changes` and the state's wording.
#[allow(clippy::too_many_arguments)]
fn test_changes(
    name: &str,
    mut ret: Ret,
    want: &Want,
    user: Option<&Value>,
    group: Option<&Value>,
    mode: Option<&str>,
    follow_symlinks: bool,
    show_changes: bool,
) -> Ret {
    let mut changes = Map::default();
    match fmod::stats(name, follow_symlinks) {
        Err(_) => {
            changes.insert(Value::from("newfile"), Value::from(name));
        }
        Ok(st) => {
            let new = match want {
                Want::Source { bytes, .. } => Some(bytes),
                Want::Contents(c) => Some(c),
                Want::Nothing => None,
            };
            if let Some(new) = new {
                let d = match std::fs::read(name) {
                    Ok(old) => fmod::get_diff(&old, new, Some(("", "")), true),
                    Err(e) => read_failure(name, &e),
                };
                if !d.is_empty() {
                    changes.insert(Value::from("diff"), Value::from(d));
                }
            }
            if let Some(u) = user {
                if *u != st.user && *u != Value::Int(st.uid as i128) {
                    changes.insert(Value::from("user"), u.clone());
                }
            }
            if let Some(g) = group {
                if *g != st.group && *g != Value::Int(st.gid as i128) {
                    changes.insert(Value::from("group"), g.clone());
                }
            }
            if let Some(m) = mode {
                if m != st.mode {
                    changes.insert(Value::from("mode"), Value::from(m));
                }
            }
        }
    }
    if changes.is_empty() {
        ret.result = Some(true);
        ret.comment = Value::from(format!("The file {name} is in the correct state"));
    } else {
        ret.result = None;
        ret.comment = Value::from(format!(
            "The file {name} is set to be changed\nNote: No changes made, actual changes may\nbe different due to other states."
        ));
        if !show_changes && changes.contains_key(&Value::from("diff")) {
            changes.insert(Value::from("diff"), Value::from("<show_changes=False>"));
        }
        ret.changes = changes;
    }
    ret
}

/// `file.manage_file` (not in test mode).
#[allow(clippy::too_many_arguments)]
fn manage_file(
    name: &str,
    mut ret: Ret,
    want: &Want,
    user: Option<&Value>,
    group: Option<&Value>,
    mode: Option<&Value>,
    makedirs: bool,
    dir_mode: Option<&Value>,
    show_changes: bool,
    follow_symlinks: bool,
    probe: Option<Probe>,
) -> Result<Ret, String> {
    let path = Path::new(name);
    let probe = probe.unwrap_or_else(|| Probe::of(name));
    let link = probe.is_link();
    if probe.is_file() || link {
        let real_name = if link && follow_symlinks {
            realpath(name)
        } else {
            name.to_string()
        };
        let new = match want {
            Want::Source { bytes, .. } => Some(bytes),
            Want::Contents(c) => Some(c),
            Want::Nothing => None,
        };
        // Whether the file was (or may have been) replaced.
        let mut touched = false;
        if let Some(new) = new {
            // Not following a link: the link itself is replaced by a file
            // (Salt's copyfile renames over it), whatever it points to.
            let replacing_link = link && !follow_symlinks;
            let read = match &probe.stat {
                // `real_name` is `name` itself, just looked at.
                Some(st) if !link && st.is_file() => read_sized(&real_name, st.len()),
                _ => std::fs::read(&real_name),
            };
            let is_source = matches!(want, Want::Source { .. });
            if let (Err(e), false) = (&read, is_source) {
                // Salt's get_diff fails: a warning, and nothing is written.
                ret.extra.insert(
                    Value::from("warnings"),
                    Value::List(vec![Value::from(format!(
                        "Failed to detect changes to file: {}",
                        read_failure(&real_name, e)
                    ))]),
                );
            }
            let old = read.as_ref().ok();
            let differs = match &read {
                Ok(o) => o != new || (replacing_link && is_source),
                Err(_) => is_source,
            };
            if differs {
                touched = true;
                if let Want::Source {
                    source,
                    expected: Some((form, hex)),
                    ..
                } = want
                {
                    let got = fmod::hash_hex(new, form).unwrap_or_default();
                    if got != *hex {
                        return Ok(ret.with(
                            Some(false),
                            format!(
                                "Specified {form} checksum for {source} ({hex}) does not match actual checksum ({got}). If the 'source_hash' value refers to a remote file with multiple possible matches, then it may be necessary to set 'source_hash_name'."
                            ),
                        ));
                    }
                }
                let d = match (&read, old) {
                    (Err(e), _) => read_failure(&real_name, e),
                    (_, o) => fmod::get_diff(
                        o.map(Vec::as_slice).unwrap_or_default(),
                        new,
                        Some(("", "")),
                        show_changes,
                    ),
                };
                let d = match (is_source, show_changes) {
                    (true, false) => "<show_changes=False>".to_string(),
                    _ => d,
                };
                if !d.is_empty() {
                    ret.change("diff", d);
                }
                if replacing_link {
                    let _ = std::fs::remove_file(name);
                }
                if let Err(e) = commit(&real_name, new, 0o644 & !umask()) {
                    return Ok(error(ret, format!("Failed to commit change: {e}")));
                }
            }
        }
        // Unchanged (nothing committed): the look at the file still holds.
        let lstat = if touched { None } else { probe.lstat.as_ref() };
        fmod::check_perms_known(
            name,
            &mut ret,
            user,
            group,
            mode,
            follow_symlinks,
            false,
            lstat,
        )?;
        if !ret.changes.is_empty() {
            ret.comment = Value::from(format!("File {name} updated"));
        } else if ret.result == Some(true) {
            ret.comment = Value::from(format!("File {name} is in the correct state"));
        }
        return Ok(ret);
    }

    // A new file.
    let contain_dir = fmod::py_dirname(name);
    let mode_s = mode.map(str_of);
    let parent_ok = || -> Result<(), String> {
        if !Path::new(&contain_dir).is_dir() {
            if makedirs {
                make_parent_dirs(name, dir_mode, mode_s.as_deref(), user, group)?;
            } else {
                return Err("Parent directory not present".into());
            }
        }
        Ok(())
    };
    // Contents go straight to the write; the parent directory is looked at
    // only when that fails (Salt looks first: same outcome). A source's
    // checksum error must win over a missing parent, as in Salt.
    let optimistic = !matches!(want, Want::Source { .. });
    if !optimistic {
        if let Err(e) = parent_ok() {
            return Ok(error(ret, e));
        }
    }
    let mask = umask();
    let (data, new_mode): (&[u8], u32) = match want {
        Want::Source {
            bytes, expected, ..
        } => {
            if let Some((form, hex)) = expected {
                let got = fmod::hash_hex(bytes, form).unwrap_or_default();
                if got != *hex {
                    return Ok(ret.with(
                        Some(false),
                        format!(
                            "Specified {form} checksum for {name} ({hex}) does not match actual checksum ({got})"
                        ),
                    ));
                }
            }
            (bytes, 0o600)
        }
        Want::Contents(c) => (c, if mode.is_some() { 0o600 } else { 0o666 & !mask }),
        Want::Nothing => (&[], if mode.is_some() { 0o600 } else { 0o666 & !mask }),
    };
    let umask_mode;
    let mode = match mode {
        None => {
            umask_mode = Value::from(format!("0o{:o}", (0o777 ^ mask) & 0o666));
            Some(&umask_mode)
        }
        m => m,
    };
    // Salt creates the file with `new_mode`, then its check_perms sets
    // `mode`. When that needs no chown and the mode is plain permission
    // bits, the temporary file gets the final mode at once instead.
    let final_mode = fmod::normalize_mode(mode);
    let direct = match &final_mode {
        Some(m) if !user.is_some_and(Value::truthy) && !group.is_some_and(Value::truthy) => {
            fmod::parse_mode(m).filter(|bits| *bits <= 0o777 && fmod::mode_string(*bits) == *m)
        }
        _ => None,
    };
    let write_mode = direct.unwrap_or(new_mode);
    let mut written = brine_core::fsutil::write_atomic(path, data, Some(write_mode));
    if written.is_err() && optimistic {
        if let Err(e) = parent_ok() {
            return Ok(error(ret, e));
        }
        written = brine_core::fsutil::write_atomic(path, data, Some(write_mode));
    }
    if let Err(e) = written {
        return Ok(error(ret, format!("File {name} not created: {e}")));
    }
    match want {
        Want::Nothing => {
            ret.change("new", format!("file {name} created"));
            ret.comment = Value::from("Empty file");
        }
        _ => ret.change("diff", "New file"),
    }
    match (direct, &final_mode) {
        (Some(_), Some(m)) => {
            // What check_perms reports for it: the mode change, and the
            // comment (a missing one becomes "").
            if fmod::mode_string(new_mode) != *m {
                ret.change("mode", m.as_str());
            }
            if ret.comment.is_null() {
                ret.comment = Value::from("");
            }
        }
        _ => {
            fmod::check_perms(name, &mut ret, user, group, mode, false, false)?;
        }
    }
    if ret.comment.as_str().is_some_and(str::is_empty) {
        ret.comment = Value::from(format!("File {name} updated"));
    }
    if ret.changes.is_empty() && ret.result == Some(true) {
        ret.comment = Value::from(format!("File {name} is in the correct state"));
    }
    Ok(ret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_like_python() {
        assert_eq!(
            urlparse("salt://a/b.txt?saltenv=dev"),
            ("salt".into(), "a".into(), "/b.txt".into())
        );
        assert_eq!(
            urlparse("file:///etc/x"),
            ("file".into(), "".into(), "/etc/x".into())
        );
        assert_eq!(urlparse("/etc/x"), ("".into(), "".into(), "/etc/x".into()));
        assert_eq!(
            salt_url_parse("salt://a/b?saltenv=dev"),
            ("a/b".into(), Some("dev".into()))
        );
        assert_eq!(salt_url_parse("salt://a/b"), ("a/b".into(), None));
    }

    #[test]
    fn contents_lines_end_in_newlines() {
        assert_eq!(join_contents(&Value::from("a"), true), "a\n");
        assert_eq!(join_contents(&Value::from("a\r\nb\n\n"), true), "a\nb\n\n");
        assert_eq!(join_contents(&Value::from(""), true), "");
        assert_eq!(
            join_contents(&Value::List(vec![Value::from("x"), Value::Int(2)]), true),
            "x\n2\n"
        );
        assert_eq!(join_contents(&Value::from("a\nb\n"), false), "a\nb");
        assert_eq!(join_contents(&Value::from("a\n\nb"), true), "a\n\nb\n");
        assert_eq!(join_contents(&Value::from("\n\n"), true), "\n\n");
        assert_eq!(join_contents(&Value::from("\n\n"), false), "");
        assert_eq!(join_contents(&Value::from("a\u{2028}b"), true), "a\nb\n");
        assert_eq!(join_contents(&Value::from("a\x0cb\r"), true), "a\nb\n");
    }

    #[test]
    fn plain_strings_join_as_the_general_way() {
        // The fast path for "\n"-only text against the line-by-line join.
        let slow =
            |s: &str, newline: bool| join_contents(&Value::List(vec![Value::from(s)]), newline);
        for s in [
            "",
            "x",
            "x\n",
            "\n",
            "a\n\n\nb\n\n",
            "\nlead",
            "t\tab \n end  ",
        ] {
            for nl in [true, false] {
                assert_eq!(
                    join_contents(&Value::from(s), nl),
                    slow(s, nl),
                    "{s:?} {nl}"
                );
            }
        }
    }

    #[test]
    fn read_sized_reads_whole_files() {
        let dir = std::env::temp_dir().join(format!("brine-managed-rs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        let p_s = p.to_string_lossy().into_owned();
        std::fs::write(&p, b"hello world").unwrap();
        // The right size, a stale smaller one, a stale larger one, zero.
        for size in [11, 3, 40, 0] {
            assert_eq!(read_sized(&p_s, size).unwrap(), b"hello world", "{size}");
        }
        std::fs::write(&p, b"").unwrap();
        assert_eq!(read_sized(&p_s, 0).unwrap(), b"");
        assert_eq!(read_sized(&p_s, 5).unwrap(), b"");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
