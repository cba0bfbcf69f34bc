//! `file` (salt/modules/file.py): the execution functions under the `file`
//! states (managed, directory, recurse, absent, copy) and the path helpers
//! templates use.
//!
//! Public helpers other modules (the `file` edit states, `file_edit`) reuse
//! instead of writing copies:
//! - [`normalize_mode`]: `salt.utils.files.normalize_mode` (`644`, `0o644`,
//!   `"00644"` -> `"0644"`).
//! - [`user_to_uid`], [`uid_to_user`], [`group_to_gid`], [`gid_to_group`]:
//!   name <-> id lookups through NSS (`getpwnam_r` & co.).
//! - [`stats`]: `file.stats` as a [`Stats`] (user/group names, `mode` as
//!   `"0644"`, `type`), or Salt's "Path not found: X" error.
//! - [`check_perms`]: `file.check_perms(name, ret, user, group, mode,
//!   follow_symlinks)`: chown/chmod as needed, recording Salt's `changes`
//!   (`user`, `group`, `mode`) and comments into a state [`Ret`] (test mode
//!   only records), returning the [`Perms`] (`luser`, `lmode`, `cmode`...).
//! - [`unified_diff`]: Python's `difflib.unified_diff` (SequenceMatcher with
//!   autojunk, same hunks), and [`get_diff`]: `file.get_diff` over two byte
//!   buffers (binary detection "Replace binary file", `show_changes=False`
//!   text), [`readlines`] / [`is_text`] under them.
//! - [`expanduser`], [`mkdir`]/[`makedirs`] (Salt's parent-directory
//!   creation with user/group/mode), [`remove`], [`set_mode`], [`chown`].

use super::{bind, Context, ModFn};
use crate::states::Ret;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use std::ffi::{CStr, CString};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("get_hash", f_get_hash),
    ("stats", f_stats),
    ("get_mode", f_get_mode),
    ("get_user", f_get_user),
    ("get_group", f_get_group),
    ("get_uid", f_get_uid),
    ("get_gid", f_get_gid),
    ("user_to_uid", f_user_to_uid),
    ("uid_to_user", f_uid_to_user),
    ("group_to_gid", f_group_to_gid),
    ("gid_to_group", f_gid_to_group),
    ("set_mode", f_set_mode),
    ("chown", f_chown),
    ("lchown", f_lchown),
    ("mkdir", f_mkdir),
    ("makedirs", f_makedirs),
    ("makedirs_perms", f_makedirs_perms),
    ("remove", f_remove),
    ("copy", f_copy),
    ("get_diff", f_get_diff),
    ("check_perms", f_check_perms),
    ("normpath", f_normpath),
    ("file_exists", file_exists),
    ("directory_exists", directory_exists),
    ("basename", basename),
    ("dirname", dirname),
    ("join", join),
];

/// `os.path.expanduser`.
pub fn expanduser(p: &str) -> String {
    if p == "~" || p.starts_with("~/") {
        if let Ok(home) = std::env::var("HOME") {
            return format!("{home}{}", &p[1..]);
        }
    }
    p.to_string()
}

fn path_arg(fun: &str, args: Vec<Value>, kwargs: Map) -> Result<String, String> {
    let b = bind(fun, &["path"], 1, false, false, args, kwargs)?;
    Ok(str_of(&b.get(0, Value::Null)))
}

fn file_exists(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let p = path_arg("file.file_exists", args, kwargs)?;
    Ok(Value::Bool(std::path::Path::new(&expanduser(&p)).is_file()))
}

fn directory_exists(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let p = path_arg("file.directory_exists", args, kwargs)?;
    Ok(Value::Bool(std::path::Path::new(&expanduser(&p)).is_dir()))
}

/// `os.path.basename`: what follows the last `/`.
pub fn py_basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `os.path.dirname`: what precedes the last `/`, trailing slashes removed
/// unless it is all slashes.
pub fn py_dirname(p: &str) -> String {
    match p.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &p[..=i];
            if head.chars().all(|c| c == '/') {
                head.to_string()
            } else {
                head.trim_end_matches('/').to_string()
            }
        }
    }
}

fn basename(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let p = path_arg("file.basename", args, kwargs)?;
    Ok(Value::from(py_basename(&p)))
}

fn dirname(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let p = path_arg("file.dirname", args, kwargs)?;
    Ok(Value::from(py_dirname(&p)))
}

/// `os.path.join(*args)`.
pub fn py_join(parts: &[String]) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if p.starts_with('/') {
            out = p.clone();
        } else if i == 0 || out.is_empty() || out.ends_with('/') {
            out.push_str(p);
        } else {
            out.push('/');
            out.push_str(p);
        }
    }
    out
}

fn join(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.join", &[], 0, true, false, args, kwargs)?;
    if b.rest.is_empty() {
        return Err(super::invalid_args(
            "join() missing 1 required positional argument: 'a'",
        ));
    }
    for a in &b.rest {
        if !matches!(a, Value::Str(_)) {
            return Err(format!(
                "join() argument must be str, bytes, or os.PathLike object, not '{}'",
                a.type_name()
            ));
        }
    }
    let parts: Vec<String> = b.rest.iter().map(str_of).collect();
    Ok(Value::from(py_join(&parts)))
}

// ---------------------------------------------------------------------------
// Modes, users and groups
// ---------------------------------------------------------------------------

/// `salt.utils.files.normalize_mode`: `str(mode)`, `0o` -> `0`, quotes and
/// leading zeros stripped, then zero-padded to 4 (`644` -> `"0644"`).
/// `None` stays `None`.
pub fn normalize_mode(mode: Option<&Value>) -> Option<String> {
    let mode = mode.filter(|m| !m.is_null())?;
    Some(normalize_mode_str(&str_of(mode)))
}

/// [`normalize_mode`] on a string.
pub fn normalize_mode_str(mode: &str) -> String {
    let replaced;
    let m = if mode.contains("0o") {
        replaced = mode.replace("0o", "0");
        replaced.as_str()
    } else {
        mode
    };
    let m = m
        .trim_matches('"')
        .trim_matches('\'')
        .trim_start_matches('0');
    let width = m.chars().count();
    let mut out = String::with_capacity(m.len().max(4));
    for _ in width..4 {
        out.push('0');
    }
    out.push_str(m);
    out
}

/// Mode bits as `stats` reports them: `normalize_mode(oct(bits))`, which
/// is the octal digits zero-padded to 4.
pub fn mode_string(bits: u32) -> String {
    let b = bits & 0o7777;
    [b >> 9, (b >> 6) & 7, (b >> 3) & 7, b & 7]
        .iter()
        .map(|d| char::from(b'0' + *d as u8))
        .collect()
}

/// Parse an octal mode string (`"0644"`, `"644"`); `None` if not octal.
pub fn parse_mode(mode: &str) -> Option<u32> {
    let m = mode.trim_start_matches(['0', 'o', 'O']);
    if m.is_empty() {
        return Some(0);
    }
    u32::from_str_radix(m, 8).ok()
}

/// One `get*_r` NSS lookup, growing the buffer on `ERANGE`; `extract`
/// reads the entry while its strings (in the buffer) are alive.
fn nss<T, R>(
    call: impl Fn(&mut T, &mut [libc::c_char], &mut *mut T) -> libc::c_int,
    extract: impl Fn(&T) -> R,
) -> Option<R> {
    let mut buf: Vec<libc::c_char> = vec![0; 4096];
    loop {
        // SAFETY: a zeroed passwd/group struct is valid (null pointers).
        let mut ent: T = unsafe { std::mem::zeroed() };
        let mut out: *mut T = std::ptr::null_mut();
        let rc = call(&mut ent, &mut buf, &mut out);
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            let n = buf.len() * 2;
            buf.resize(n, 0);
            continue;
        }
        if rc != 0 || out.is_null() {
            return None;
        }
        return Some(extract(&ent));
    }
}

fn cstr(p: *const libc::c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: NSS returns NUL-terminated strings inside our buffer.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// `pwd.getpwnam(user).pw_uid`, `None` when unknown.
fn user_to_uid_nss(user: &str) -> Option<u32> {
    let name = CString::new(user).ok()?;
    nss::<libc::passwd, _>(
        // SAFETY: every pointer is valid for the call; sizes match.
        |ent, buf, out| unsafe {
            libc::getpwnam_r(name.as_ptr(), ent, buf.as_mut_ptr(), buf.len(), out)
        },
        |p| p.pw_uid,
    )
}

/// `pwd.getpwuid(uid).pw_name`, `None` when unknown.
fn uid_to_user_nss(uid: u32) -> Option<String> {
    nss::<libc::passwd, _>(
        // SAFETY: as above.
        |ent, buf, out| unsafe { libc::getpwuid_r(uid, ent, buf.as_mut_ptr(), buf.len(), out) },
        |p| cstr(p.pw_name),
    )
}

/// `grp.getgrnam(group).gr_gid`, `None` when unknown.
fn group_to_gid_nss(group: &str) -> Option<u32> {
    let name = CString::new(group).ok()?;
    nss::<libc::group, _>(
        // SAFETY: as above.
        |ent, buf, out| unsafe {
            libc::getgrnam_r(name.as_ptr(), ent, buf.as_mut_ptr(), buf.len(), out)
        },
        |g| g.gr_gid,
    )
}

/// `grp.getgrgid(gid).gr_name`, `None` when unknown.
fn gid_to_group_nss(gid: u32) -> Option<String> {
    nss::<libc::group, _>(
        // SAFETY: as above.
        |ent, buf, out| unsafe { libc::getgrgid_r(gid, ent, buf.as_mut_ptr(), buf.len(), out) },
        |g| cstr(g.gr_name),
    )
}

/// Remembered name/id lookups: a run of 1,000 file states would otherwise
/// read /etc/passwd and /etc/group six times per state. Only answers that
/// were found are kept, and all of them are dropped as soon as either file
/// changes (size, mtime or inode), e.g. after a `user.present`. The files
/// are checked again at the first lookup after [`forget_ids`] (the runtime
/// calls it before every state), not at every lookup.
mod id_cache {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    /// Bumped by [`super::forget_ids`]; the stamp is re-read when it moved.
    pub(super) static EPOCH: AtomicU64 = AtomicU64::new(1);

    #[derive(Default)]
    pub(super) struct Maps {
        epoch: u64,
        stamp: Vec<(u64, u64, i64, i64)>,
        pub uid: HashMap<String, u32>,
        pub user: HashMap<u32, String>,
        pub gid: HashMap<String, u32>,
        pub group: HashMap<u32, String>,
    }

    static CACHE: Mutex<Option<Maps>> = Mutex::new(None);

    fn stamp() -> Vec<(u64, u64, i64, i64)> {
        use std::os::unix::fs::MetadataExt;
        ["/etc/passwd", "/etc/group"]
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .map(|m| (m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Run `f` on the maps, after dropping them if the files changed.
    pub(super) fn with<T>(f: impl FnOnce(&mut Maps) -> T) -> Option<T> {
        let epoch = EPOCH.load(Ordering::SeqCst);
        let mut guard = CACHE.lock().ok()?;
        let maps = guard.get_or_insert_with(Maps::default);
        if maps.epoch != epoch {
            let now = stamp();
            if maps.stamp != now {
                *maps = Maps {
                    stamp: now,
                    ..Maps::default()
                };
            }
            maps.epoch = epoch;
        }
        Some(f(maps))
    }
}

/// Check /etc/passwd and /etc/group again before the next remembered
/// lookup (they may have changed since: a state ran a command).
pub fn forget_ids() {
    id_cache::EPOCH.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// The remembered answer for `key` in the map `pick` selects, or `lookup`'s
/// (remembered when found).
fn remembered<K, V>(
    pick: fn(&mut id_cache::Maps) -> &mut std::collections::HashMap<K, V>,
    key: K,
    lookup: impl FnOnce() -> Option<V>,
) -> Option<V>
where
    K: std::hash::Hash + Eq,
    V: Clone,
{
    if let Some(Some(hit)) = id_cache::with(|m| pick(m).get(&key).cloned()) {
        return Some(hit);
    }
    let found = lookup()?;
    id_cache::with(|m| pick(m).insert(key, found.clone()));
    Some(found)
}

/// `pwd.getpwnam(user).pw_uid`, `None` when unknown.
pub fn user_to_uid(user: &str) -> Option<u32> {
    remembered(|m| &mut m.uid, user.to_string(), || user_to_uid_nss(user))
}

/// `pwd.getpwuid(uid).pw_name`, `None` when unknown.
pub fn uid_to_user(uid: u32) -> Option<String> {
    remembered(|m| &mut m.user, uid, || uid_to_user_nss(uid))
}

/// `grp.getgrnam(group).gr_gid`, `None` when unknown.
pub fn group_to_gid(group: &str) -> Option<u32> {
    remembered(
        |m| &mut m.gid,
        group.to_string(),
        || group_to_gid_nss(group),
    )
}

/// `grp.getgrgid(gid).gr_name`, `None` when unknown.
pub fn gid_to_group(gid: u32) -> Option<String> {
    remembered(|m| &mut m.group, gid, || gid_to_group_nss(gid))
}

/// Salt's `user_to_uid` on a state argument: an int is taken as is, a
/// name is looked up (`None`: unknown).
pub fn user_value_to_uid(user: &Value) -> Option<u32> {
    match user {
        Value::Int(i) => u32::try_from(*i).ok(),
        v => user_to_uid(&str_of(v)),
    }
}

/// Salt's `group_to_gid` on a state argument.
pub fn group_value_to_gid(group: &Value) -> Option<u32> {
    match group {
        Value::Int(i) => u32::try_from(*i).ok(),
        v => group_to_gid(&str_of(v)),
    }
}

// ---------------------------------------------------------------------------
// stats, chown, chmod
// ---------------------------------------------------------------------------

/// `file.stats(path)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub inode: u64,
    pub uid: u32,
    pub gid: u32,
    /// The owner's name, or the uid (an int) when it has none.
    pub user: Value,
    /// The group's name, or the gid when it has none.
    pub group: Value,
    pub atime: f64,
    pub mtime: f64,
    pub ctime: f64,
    pub size: u64,
    /// `"0644"`.
    pub mode: String,
    /// `file`, `dir`, `link`, `char`, `block`, `pipe`, `socket`.
    pub kind: &'static str,
    /// The absolute path asked for; [`Stats::to_value`] resolves it (Salt's
    /// `target`, `os.path.realpath`) when symlinks are followed. Resolving
    /// costs a `readlink` per path component, so it is done only there.
    pub target: String,
    pub follow_symlinks: bool,
}

impl Stats {
    /// The dict `file.stats` returns.
    pub fn to_value(&self) -> Value {
        let mut m = Map::default();
        let mut put = |k: &str, v: Value| {
            m.insert(Value::from(k), v);
        };
        put("inode", Value::Int(self.inode as i128));
        put("uid", Value::Int(self.uid as i128));
        put("gid", Value::Int(self.gid as i128));
        put("group", self.group.clone());
        put("user", self.user.clone());
        put("atime", Value::Float(self.atime));
        put("mtime", Value::Float(self.mtime));
        put("ctime", Value::Float(self.ctime));
        put("size", Value::Int(self.size as i128));
        put("mode", Value::from(self.mode.as_str()));
        put("type", Value::from(self.kind));
        let target = if self.follow_symlinks {
            std::fs::canonicalize(&self.target)
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_else(|_| self.target.clone())
        } else {
            self.target.clone()
        };
        put("target", Value::from(target));
        Value::Map(m)
    }
}

fn secs(s: i64, ns: i64) -> f64 {
    s as f64 + ns as f64 / 1e9
}

/// Whether `p` is absolute with nothing for `abspath` to fold: no empty,
/// `.` or `..` component and no trailing slash.
fn is_normal_abs(p: &str) -> bool {
    let b = p.as_bytes();
    if b.len() < 2 || b[0] != b'/' || b[b.len() - 1] == b'/' {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        if c != b'/' {
            continue;
        }
        let rest = &b[i + 1..];
        let dots = rest.iter().take_while(|&&x| x == b'.').count();
        let end = rest.get(dots).is_none_or(|&x| x == b'/');
        if rest.first() == Some(&b'/') || (end && (dots == 1 || dots == 2)) {
            return false;
        }
    }
    true
}

/// `os.path.abspath` (lexical: `.`/`..` folded, relative to the cwd).
pub fn abspath(p: &str) -> String {
    if is_normal_abs(p) {
        return p.to_string();
    }
    let full = if p.starts_with('/') {
        p.to_string()
    } else {
        let cwd = std::env::current_dir()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".into());
        format!("{cwd}/{p}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in full.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `file.stats(path, follow_symlinks=...)`; `Err("Path not found: X")`.
pub fn stats(path: &str, follow_symlinks: bool) -> Result<Stats, String> {
    let path = expanduser(path);
    let p = Path::new(&path);
    let md = if follow_symlinks {
        std::fs::metadata(p).or_else(|_| std::fs::symlink_metadata(p))
    } else {
        std::fs::symlink_metadata(p)
    }
    .map_err(|_| format!("Path not found: {path}"))?;
    Ok(stats_of(&path, &md, follow_symlinks))
}

/// [`stats`] from metadata already at hand (`path` already expanded; `md`
/// what [`stats`] would have read: the link's own for a symlink unless
/// followed).
pub fn stats_of(path: &str, md: &std::fs::Metadata, follow_symlinks: bool) -> Stats {
    let ft = md.file_type();
    use std::os::unix::fs::FileTypeExt;
    let kind = if ft.is_dir() {
        "dir"
    } else if ft.is_char_device() {
        "char"
    } else if ft.is_block_device() {
        "block"
    } else if ft.is_file() {
        "file"
    } else if ft.is_symlink() {
        "link"
    } else if ft.is_fifo() {
        "pipe"
    } else if ft.is_socket() {
        "socket"
    } else {
        "file"
    };
    let target = abspath(path);
    Stats {
        inode: md.ino(),
        uid: md.uid(),
        gid: md.gid(),
        user: uid_to_user(md.uid())
            .map(Value::from)
            .unwrap_or(Value::Int(md.uid() as i128)),
        group: gid_to_group(md.gid())
            .map(Value::from)
            .unwrap_or(Value::Int(md.gid() as i128)),
        atime: secs(md.atime(), md.atime_nsec()),
        mtime: secs(md.mtime(), md.mtime_nsec()),
        ctime: secs(md.ctime(), md.ctime_nsec()),
        size: md.size(),
        mode: mode_string(md.mode()),
        kind,
        target,
        follow_symlinks,
    }
}

fn os_chown(path: &str, uid: Option<u32>, gid: Option<u32>, follow: bool) -> std::io::Result<()> {
    if follow {
        std::os::unix::fs::chown(path, uid, gid)
    } else {
        std::os::unix::fs::lchown(path, uid, gid)
    }
}

/// `file.chown` / `file.lchown` (`follow_symlinks=false`): `Ok(err)` where
/// `err` is Salt's returned error text ("User does not exist\n", "Group does
/// not exist\n", "File not found"), empty on success.
pub fn chown(
    path: &str,
    user: Option<&Value>,
    group: Option<&Value>,
    follow: bool,
) -> std::io::Result<String> {
    let path = expanduser(path);
    let mut err = String::new();
    let mut uid = None;
    let mut gid = None;
    if let Some(u) = user.filter(|u| !u.is_null()) {
        uid = user_value_to_uid(u);
        if uid.is_none() && u.truthy() {
            err.push_str("User does not exist\n");
        }
    }
    if let Some(g) = group.filter(|g| !g.is_null()) {
        gid = group_value_to_gid(g);
        if gid.is_none() && g.truthy() {
            err.push_str("Group does not exist\n");
        }
    }
    if !follow {
        os_chown(&path, uid, gid, false)?;
        return Ok(String::new());
    }
    if !Path::new(&path).exists() {
        if os_chown(&path, uid, gid, false).is_ok() {
            return Ok(String::new());
        }
        err.push_str("File not found");
    }
    if !err.is_empty() {
        return Ok(err);
    }
    os_chown(&path, uid, gid, true)?;
    Ok(String::new())
}

/// `file.set_mode(path, mode)`: `Err` "X: File not found"; the new mode.
pub fn set_mode(path: &str, mode: &str) -> Result<String, String> {
    let path = expanduser(path);
    let m = mode.trim_start_matches(['0', 'O', 'o']);
    let m = if m.is_empty() { "0" } else { m };
    if !Path::new(&path).exists() {
        return Err(format!("{path}: File not found"));
    }
    let Ok(bits) = u32::from_str_radix(m, 8) else {
        return Ok(format!("Invalid Mode {m}"));
    };
    if std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bits)).is_err() {
        return Ok(format!("Invalid Mode {m}"));
    }
    Ok(stats(&path, true).map(|s| s.mode).unwrap_or_default())
}

/// What `check_perms` saw and did (Salt's `perms` dict).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Perms {
    /// The user before (the uid when the requested user was an int).
    pub luser: Value,
    pub lgroup: Value,
    pub lmode: String,
    /// Set when the user/group/mode had to change.
    pub cuser: Option<Value>,
    pub cgroup: Option<Value>,
    pub cmode: Option<String>,
}

fn owner_matches(want: &Value, name: &Value, id: u32) -> bool {
    want == name || *want == Value::Int(id as i128)
}

/// `file.check_perms(name, ret, user, group, mode, follow_symlinks=...)`
/// for a state: chown/chmod `name` when they differ (only records them in
/// `test` mode), adding `user`/`group`/`mode` to `ret.changes` and failures
/// to the comment. As in Salt, the comments are joined with "; " after the
/// comment `ret` already had (when it is a string), and in test mode a
/// `ret` with changes gets `result: None`. `Err` when `name` is missing
/// ("Path not found: X").
pub fn check_perms(
    name: &str,
    ret: &mut Ret,
    user: Option<&Value>,
    group: Option<&Value>,
    mode: Option<&Value>,
    follow_symlinks: bool,
    test: bool,
) -> Result<Perms, String> {
    check_perms_known(name, ret, user, group, mode, follow_symlinks, test, None)
}

/// [`check_perms`] with `name`'s `symlink_metadata` already at hand
/// (`lstat`, read since the last change to the file), which saves reading
/// it again. The file is only read again after a chown or chmod.
#[allow(clippy::too_many_arguments)]
pub fn check_perms_known(
    name: &str,
    ret: &mut Ret,
    user: Option<&Value>,
    group: Option<&Value>,
    mode: Option<&Value>,
    follow_symlinks: bool,
    test: bool,
    lstat: Option<&std::fs::Metadata>,
) -> Result<Perms, String> {
    let name = expanduser(name);
    let mode = normalize_mode(mode);
    let user = user.filter(|u| u.truthy());
    let group = group.filter(|g| g.truthy());
    let orig_comment = std::mem::replace(&mut ret.comment, Value::Null);
    let mut comments: Vec<String> = Vec::new();

    // What `stats` would read, and whether `name` is a link.
    let (cur, is_link) = match lstat {
        Some(md) if !(md.file_type().is_symlink() && follow_symlinks) => (
            stats_of(&name, md, follow_symlinks),
            md.file_type().is_symlink(),
        ),
        _ => {
            let cur = stats(&name, follow_symlinks)?;
            let is_link = Path::new(&name)
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink());
            (cur, is_link)
        }
    };
    let mut perms = Perms {
        luser: if matches!(user, Some(Value::Int(_))) {
            Value::Int(cur.uid as i128)
        } else {
            cur.user.clone()
        },
        lgroup: if matches!(group, Some(Value::Int(_))) {
            Value::Int(cur.gid as i128)
        } else {
            cur.group.clone()
        },
        lmode: cur.mode.clone(),
        ..Perms::default()
    };
    // Whether a chown or chmod was tried (then the file is read again).
    let mut touched = false;

    if let Some(u) = user {
        if !owner_matches(u, &cur.user, cur.uid) {
            perms.cuser = Some(u.clone());
        }
    }
    if let Some(g) = group {
        if !owner_matches(g, &cur.group, cur.gid) {
            perms.cgroup = Some(g.clone());
        }
    }
    if (perms.cuser.is_some() || perms.cgroup.is_some()) && !test {
        touched = true;
        let follow = !is_link || follow_symlinks;
        let u = user.cloned().unwrap_or_else(|| cur.user.clone());
        let g = group.cloned().unwrap_or_else(|| cur.group.clone());
        match chown(&name, Some(&u), Some(&g), follow) {
            Ok(err) if !err.is_empty() => {
                ret.result = Some(false);
                comments.push(err);
            }
            Ok(_) => {
                if !is_link {
                    // chown(2) clears setuid/setgid: put the old mode back.
                    let _ = set_mode(&name, &cur.mode);
                }
            }
            Err(_) => ret.result = Some(false),
        }
    }
    let skip_mode = is_link && !follow_symlinks;
    if let Some(m) = &mode {
        if !test && !skip_mode && *m != cur.mode {
            perms.cmode = Some(m.clone());
            touched = true;
            let _ = set_mode(&name, m);
        }
    }

    let post = if touched {
        stats(&name, follow_symlinks).unwrap_or(cur)
    } else {
        cur
    };
    if let Some(u) = user {
        if !owner_matches(u, &post.user, post.uid) {
            if test {
                ret.change("user", u.clone());
            } else {
                ret.result = Some(false);
                comments.push(format!("Failed to change user to {}", str_of(u)));
            }
        } else if perms.cuser.is_some() {
            ret.change("user", u.clone());
        }
    }
    if let Some(g) = group {
        if !owner_matches(g, &post.group, post.gid) {
            if test {
                ret.change("group", g.clone());
            } else {
                ret.result = Some(false);
                comments.push(format!("Failed to change group to {}", str_of(g)));
            }
        } else if perms.cgroup.is_some() {
            ret.change("group", g.clone());
        }
    }
    if let Some(m) = &mode {
        if !skip_mode {
            if *m != post.mode {
                if test {
                    ret.change("mode", m.as_str());
                } else {
                    ret.result = Some(false);
                    comments.push(format!("Failed to change mode to {m}"));
                }
            } else if perms.cmode.is_some() {
                ret.change("mode", m.as_str());
            }
        }
    }
    match orig_comment {
        Value::Str(s) => {
            if !s.is_empty() {
                comments.insert(0, s);
            }
            ret.comment = Value::from(comments.join("; "));
        }
        Value::Null => ret.comment = Value::from(comments.join("; ")),
        // A list comment stays a list (Salt only joins string comments).
        Value::List(mut l) => {
            l.extend(comments.into_iter().map(Value::from));
            ret.comment = Value::List(l);
        }
        other => ret.comment = other,
    }
    if test && !ret.changes.is_empty() {
        ret.result = None;
    }
    Ok(perms)
}

// ---------------------------------------------------------------------------
// Diffs: Python's difflib.unified_diff
// ---------------------------------------------------------------------------

/// `fp.readlines()` in binary mode, each line decoded (UTF-8, else
/// Latin-1, as `salt.utils.data.decode_list`).
pub fn readlines(data: &[u8]) -> Vec<String> {
    data.split_inclusive(|b| *b == b'\n')
        .map(|l| match std::str::from_utf8(l) {
            Ok(s) => s.to_string(),
            Err(_) => l.iter().map(|&b| b as char).collect(),
        })
        .collect()
}

/// `salt.utils.files.is_text` on the first 512 bytes.
pub fn is_text(data: &[u8]) -> bool {
    let block = &data[..data.len().min(512)];
    if block.contains(&0) {
        return false;
    }
    if block.is_empty() || std::str::from_utf8(block).is_ok() {
        return true;
    }
    let nontext = block
        .iter()
        .filter(|&&b| !((32..127).contains(&b) || b"\n\r\t\x0c\x08".contains(&b)))
        .count();
    nontext as f64 / block.len() as f64 <= 0.30
}

/// `_binary_replace`: the text for files that differ when one is binary.
pub fn binary_replace(old: &[u8], new: &[u8]) -> Option<&'static str> {
    match (!is_text(old), !is_text(new)) {
        (true, true) => Some("Replace binary file"),
        (true, false) => Some("Replace binary file with text file"),
        (false, true) => Some("Replace text file with binary file"),
        (false, false) => None,
    }
}

/// `file.get_diff` on contents: `""` when equal, else `<show_changes=False>`,
/// the binary text, or the unified diff (with `---`/`+++` names when
/// `names` is given).
pub fn get_diff(old: &[u8], new: &[u8], names: Option<(&str, &str)>, show_changes: bool) -> String {
    let a = readlines(old);
    let b = readlines(new);
    if a == b {
        return String::new();
    }
    if !show_changes {
        return "<show_changes=False>".into();
    }
    if let Some(t) = binary_replace(old, new) {
        return t.into();
    }
    let (from, to) = names.unwrap_or(("", ""));
    unified_diff(&a, &b, from, to, 3)
}

/// Python's `difflib.SequenceMatcher(None, a, b)` (autojunk on).
struct SequenceMatcher<'a, T: Eq + std::hash::Hash> {
    a: &'a [T],
    b: &'a [T],
    b2j: std::collections::HashMap<&'a T, Vec<usize>>,
}

type Opcode = (&'static str, usize, usize, usize, usize);

impl<'a, T: Eq + std::hash::Hash> SequenceMatcher<'a, T> {
    fn new(a: &'a [T], b: &'a [T]) -> Self {
        let mut b2j: std::collections::HashMap<&T, Vec<usize>> = std::collections::HashMap::new();
        for (i, e) in b.iter().enumerate() {
            b2j.entry(e).or_default().push(i);
        }
        let n = b.len();
        if n >= 200 {
            let ntest = n / 100 + 1;
            b2j.retain(|_, v| v.len() <= ntest);
        }
        SequenceMatcher { a, b, b2j }
    }

    fn find_longest_match(
        &self,
        alo: usize,
        ahi: usize,
        blo: usize,
        bhi: usize,
    ) -> (usize, usize, usize) {
        let (a, b) = (self.a, self.b);
        let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0usize);
        let mut j2len: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for (i, ai) in a.iter().enumerate().take(ahi).skip(alo) {
            let mut newj2len = std::collections::HashMap::new();
            if let Some(js) = self.b2j.get(ai) {
                for &j in js {
                    if j < blo {
                        continue;
                    }
                    if j >= bhi {
                        break;
                    }
                    let k = j
                        .checked_sub(1)
                        .and_then(|p| j2len.get(&p))
                        .copied()
                        .unwrap_or(0)
                        + 1;
                    newj2len.insert(j, k);
                    if k > bestsize {
                        besti = i + 1 - k;
                        bestj = j + 1 - k;
                        bestsize = k;
                    }
                }
            }
            j2len = newj2len;
        }
        // No junk (isjunk is None): extend over equal (popular) elements.
        while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
            besti -= 1;
            bestj -= 1;
            bestsize += 1;
        }
        while besti + bestsize < ahi
            && bestj + bestsize < bhi
            && a[besti + bestsize] == b[bestj + bestsize]
        {
            bestsize += 1;
        }
        (besti, bestj, bestsize)
    }

    fn matching_blocks(&self) -> Vec<(usize, usize, usize)> {
        let (la, lb) = (self.a.len(), self.b.len());
        let mut queue = vec![(0, la, 0, lb)];
        let mut blocks = Vec::new();
        while let Some((alo, ahi, blo, bhi)) = queue.pop() {
            let (i, j, k) = self.find_longest_match(alo, ahi, blo, bhi);
            if k > 0 {
                blocks.push((i, j, k));
                if alo < i && blo < j {
                    queue.push((alo, i, blo, j));
                }
                if i + k < ahi && j + k < bhi {
                    queue.push((i + k, ahi, j + k, bhi));
                }
            }
        }
        blocks.sort();
        let (mut i1, mut j1, mut k1) = (0, 0, 0);
        let mut out = Vec::new();
        for (i2, j2, k2) in blocks {
            if i1 + k1 == i2 && j1 + k1 == j2 {
                k1 += k2;
            } else {
                if k1 > 0 {
                    out.push((i1, j1, k1));
                }
                (i1, j1, k1) = (i2, j2, k2);
            }
        }
        if k1 > 0 {
            out.push((i1, j1, k1));
        }
        out.push((la, lb, 0));
        out
    }

    fn opcodes(&self) -> Vec<Opcode> {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        for (ai, bj, size) in self.matching_blocks() {
            let tag = if i < ai && j < bj {
                "replace"
            } else if i < ai {
                "delete"
            } else if j < bj {
                "insert"
            } else {
                ""
            };
            if !tag.is_empty() {
                out.push((tag, i, ai, j, bj));
            }
            i = ai + size;
            j = bj + size;
            if size > 0 {
                out.push(("equal", ai, i, bj, j));
            }
        }
        out
    }

    fn grouped_opcodes(&self, n: usize) -> Vec<Vec<Opcode>> {
        let mut codes = self.opcodes();
        if codes.is_empty() {
            codes.push(("equal", 0, 1, 0, 1));
        }
        if codes[0].0 == "equal" {
            let (t, i1, i2, j1, j2) = codes[0];
            codes[0] = (
                t,
                i1.max(i2.saturating_sub(n)),
                i2,
                j1.max(j2.saturating_sub(n)),
                j2,
            );
        }
        let last = codes.len() - 1;
        if codes[last].0 == "equal" {
            let (t, i1, i2, j1, j2) = codes[last];
            codes[last] = (t, i1, i2.min(i1 + n), j1, j2.min(j1 + n));
        }
        let nn = n + n;
        let mut groups = Vec::new();
        let mut group = Vec::new();
        for (tag, mut i1, i2, mut j1, j2) in codes {
            if tag == "equal" && i2 - i1 > nn {
                group.push((tag, i1, i2.min(i1 + n), j1, j2.min(j1 + n)));
                groups.push(std::mem::take(&mut group));
                i1 = i1.max(i2.saturating_sub(n));
                j1 = j1.max(j2.saturating_sub(n));
            }
            group.push((tag, i1, i2, j1, j2));
        }
        let only_equal = group.len() == 1 && group[0].0 == "equal";
        if !group.is_empty() && !only_equal {
            groups.push(group);
        }
        groups
    }
}

fn format_range_unified(start: usize, stop: usize) -> String {
    let beginning = start + 1;
    let length = stop - start;
    if length == 1 {
        return beginning.to_string();
    }
    if length == 0 {
        return format!("{},0", beginning - 1);
    }
    format!("{beginning},{length}")
}

/// `"".join(difflib.unified_diff(a, b, fromfile, tofile, n=n))` over lines
/// that keep their line endings.
pub fn unified_diff(a: &[String], b: &[String], fromfile: &str, tofile: &str, n: usize) -> String {
    let sm = SequenceMatcher::new(a, b);
    let mut out = String::new();
    for (gi, group) in sm.grouped_opcodes(n).into_iter().enumerate() {
        if gi == 0 {
            out.push_str(&format!("--- {fromfile}\n+++ {tofile}\n"));
        }
        let (first, last) = (group[0], group[group.len() - 1]);
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            format_range_unified(first.1, last.2),
            format_range_unified(first.3, last.4)
        ));
        for (tag, i1, i2, j1, j2) in group {
            if tag == "equal" {
                for l in &a[i1..i2] {
                    out.push(' ');
                    out.push_str(l);
                }
                continue;
            }
            if tag == "replace" || tag == "delete" {
                for l in &a[i1..i2] {
                    out.push('-');
                    out.push_str(l);
                }
            }
            if tag == "replace" || tag == "insert" {
                for l in &b[j1..j2] {
                    out.push('+');
                    out.push_str(l);
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Directories and removal
// ---------------------------------------------------------------------------

/// `os.path.normpath`.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let lead = if p.starts_with("//") && !p.starts_with("///") {
        "//"
    } else if p.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if lead.is_empty() {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let out = format!("{lead}{}", parts.join("/"));
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

/// `file.makedirs_perms`: `os.mkdir` each missing level, then
/// `check_perms(user, group, mode)` on it.
pub fn makedirs_perms(
    name: &str,
    user: Option<&Value>,
    group: Option<&Value>,
    mode: Option<&str>,
) -> Result<(), String> {
    let name = expanduser(name);
    let trimmed = name.trim_end_matches('/');
    let head = py_dirname(trimmed);
    if !head.is_empty() && head != trimmed && !Path::new(&head).exists() {
        makedirs_perms(&head, user, group, mode)?;
    }
    if let Err(e) = std::fs::create_dir(&name) {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(format!(
                "[Errno {}] {e}: '{name}'",
                e.raw_os_error().unwrap_or(0)
            ));
        }
    }
    let mut ret = Ret::new(name.as_str());
    let mode = mode.map(|m| Value::from(m.trim_start_matches('0')));
    check_perms(&name, &mut ret, user, group, mode.as_ref(), false, false)?;
    Ok(())
}

/// `file.mkdir`.
pub fn mkdir(
    dir_path: &str,
    user: Option<&Value>,
    group: Option<&Value>,
    mode: Option<&str>,
) -> Result<(), String> {
    let directory = normpath(&expanduser(dir_path));
    if !Path::new(&directory).is_dir() {
        makedirs_perms(&directory, user, group, mode)?;
    }
    Ok(())
}

/// `file.makedirs`: the missing parents of `path` (not `path` itself
/// unless it ends in `/`), each with `user`/`group`/`mode`.
pub fn makedirs(
    path: &str,
    user: Option<&Value>,
    group: Option<&Value>,
    mode: Option<&str>,
) -> Result<(), String> {
    let path = expanduser(path);
    let mode = mode.filter(|m| !m.is_empty()).map(normalize_mode_str);
    let mut dirname = normpath(&py_dirname(&path));
    if Path::new(&dirname).exists() {
        return Ok(());
    }
    let mut todo = Vec::new();
    loop {
        if Path::new(&dirname).is_dir() {
            break;
        }
        todo.push(dirname.clone());
        let cur = dirname.clone();
        dirname = py_dirname(&dirname);
        if cur == dirname {
            return Err(format!(
                "Recursive creation for path '{dirname}' would result in an infinite loop. Please use an absolute path."
            ));
        }
    }
    for d in todo.iter().rev() {
        mkdir(d, user, group, mode.as_deref())?;
    }
    Ok(())
}

/// `file.remove(path, force=True)`: a file, link or whole tree.
pub fn remove(path: &str) -> Result<bool, String> {
    let path = expanduser(path);
    if !path.starts_with('/') {
        return Err(format!("File path must be absolute: {path}"));
    }
    let p = Path::new(&path);
    let md = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(_) => return Ok(false),
    };
    let r = if md.is_dir() {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    };
    r.map(|_| true)
        .map_err(|e| format!("Could not remove '{path}': {e}"))
}

/// `file.copy(src, dst, recurse, remove_existing)` for one file or a tree
/// (file contents, modes and symlinks).
pub fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    let md = std::fs::symlink_metadata(src)?;
    if md.file_type().is_symlink() {
        let target = std::fs::read_link(src)?;
        let _ = std::fs::remove_file(dst);
        return std::os::unix::fs::symlink(target, dst);
    }
    if md.is_dir() {
        if !dst.is_dir() {
            std::fs::create_dir(dst)?;
        }
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(md.mode() & 0o7777))?;
        let mut entries: Vec<_> = std::fs::read_dir(src)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy_tree(&e.path(), &dst.join(e.file_name()))?;
        }
        return Ok(());
    }
    let data = std::fs::read(src)?;
    brine_core::fsutil::write_atomic(dst, &data, Some(md.mode() & 0o7777))
}

// ---------------------------------------------------------------------------
// Execution functions (`brine-call file.X`)
// ---------------------------------------------------------------------------

fn one_path(
    fun: &str,
    names: &[&str],
    args: Vec<Value>,
    kwargs: Map,
) -> Result<(String, super::Bound), String> {
    let b = bind(fun, names, 1, false, false, args, kwargs)?;
    let p = expanduser(&str_of(&b.get(0, Value::Null)));
    Ok((p, b))
}

fn follow_arg(b: &super::Bound, i: usize) -> bool {
    b.opt(i).map(super::is_true).unwrap_or(true)
}

/// The digest of `data` by Salt's hash type name (`md5`, `sha1`,
/// `sha256`, `sha512`); `None` for others.
pub fn hash_hex(data: &[u8], form: &str) -> Option<String> {
    use brine_core::jinja::hashes as h;
    Some(match form {
        "md5" => h::hex(&h::md5(data)),
        "sha1" => h::hex(&h::sha1(data)),
        "sha256" => h::hex(&h::sha256(data)),
        "sha512" => h::hex(&h::sha512(data)),
        _ => return None,
    })
}

fn f_get_hash(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let (p, b) = one_path(
        "file.get_hash",
        &["path", "form", "chunk_size"],
        args,
        kwargs,
    )?;
    let form = b.str(1).unwrap_or_else(|| "sha256".into());
    let data = std::fs::read(&p)
        .map_err(|e| format!("[Errno {}] {e}: '{p}'", e.raw_os_error().unwrap_or(0)))?;
    hash_hex(&data, &form)
        .map(Value::from)
        .ok_or_else(|| format!("Invalid hash type: {form}"))
}

fn f_stats(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let (p, b) = one_path(
        "file.stats",
        &["path", "hash_type", "follow_symlinks"],
        args,
        kwargs,
    )?;
    let st = stats(&p, follow_arg(&b, 2))?;
    let mut v = st.to_value();
    if let Some(form) = b.str(1) {
        let data = std::fs::read(&p).unwrap_or_default();
        if let (Some(h), Value::Map(m)) = (hash_hex(&data, &form), &mut v) {
            m.insert(Value::from("sum"), Value::from(h));
        }
    }
    Ok(v)
}

fn stat_field(
    fun: &str,
    field: &str,
    missing: Value,
    args: Vec<Value>,
    kwargs: Map,
) -> Result<Value, String> {
    let (p, b) = one_path(fun, &["path", "follow_symlinks"], args, kwargs)?;
    let st = stats(&p, follow_arg(&b, 1))?;
    Ok(match st.to_value().get(field) {
        Some(v) => v.clone(),
        None => missing,
    })
}

fn f_get_mode(_: &Context, a: Vec<Value>, k: Map) -> Result<Value, String> {
    stat_field("file.get_mode", "mode", Value::from(""), a, k)
}
fn f_get_user(_: &Context, a: Vec<Value>, k: Map) -> Result<Value, String> {
    stat_field("file.get_user", "user", Value::Bool(false), a, k)
}
fn f_get_group(_: &Context, a: Vec<Value>, k: Map) -> Result<Value, String> {
    stat_field("file.get_group", "group", Value::Bool(false), a, k)
}
fn f_get_uid(_: &Context, a: Vec<Value>, k: Map) -> Result<Value, String> {
    stat_field("file.get_uid", "uid", Value::Int(-1), a, k)
}
fn f_get_gid(_: &Context, a: Vec<Value>, k: Map) -> Result<Value, String> {
    stat_field("file.get_gid", "gid", Value::Int(-1), a, k)
}

fn f_user_to_uid(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.user_to_uid", &["user"], 1, false, false, args, kwargs)?;
    Ok(match b.opt(0) {
        Some(Value::Int(i)) => Value::Int(*i),
        Some(u) => user_to_uid(&str_of(u))
            .map(|i| Value::Int(i as i128))
            .unwrap_or(Value::from("")),
        None => Value::Int(unsafe { libc::geteuid() } as i128),
    })
}

fn f_uid_to_user(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.uid_to_user", &["uid"], 1, false, false, args, kwargs)?;
    let v = b.get(0, Value::Null);
    Ok(match v.as_int().and_then(|i| u32::try_from(i).ok()) {
        Some(i) => uid_to_user(i).map(Value::from).unwrap_or(v),
        None => v,
    })
}

fn f_group_to_gid(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.group_to_gid",
        &["group"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    Ok(match b.opt(0) {
        None => Value::from(""),
        Some(Value::Int(i)) => Value::Int(*i),
        Some(g) => group_to_gid(&str_of(g))
            .map(|i| Value::Int(i as i128))
            .unwrap_or(Value::from("")),
    })
}

fn f_gid_to_group(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.gid_to_group", &["gid"], 1, false, false, args, kwargs)?;
    let v = b.get(0, Value::Null);
    let gid = match &v {
        Value::Int(i) => u32::try_from(*i).ok(),
        Value::Str(s) => match s.trim().parse::<u32>() {
            Ok(i) => Some(i),
            Err(_) => match group_to_gid(s) {
                Some(g) => Some(g),
                None => return Ok(Value::from("")),
            },
        },
        _ => None,
    };
    Ok(match gid {
        Some(g) => gid_to_group(g)
            .map(Value::from)
            .unwrap_or(Value::Int(g as i128)),
        None => v,
    })
}

fn f_set_mode(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.set_mode",
        &["path", "mode"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let p = str_of(&b.get(0, Value::Null));
    set_mode(&p, &str_of(&b.get(1, Value::Null))).map(Value::from)
}

fn chown_fun(fun: &str, follow: bool, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        fun,
        &["path", "user", "group"],
        3,
        false,
        false,
        args,
        kwargs,
    )?;
    let p = str_of(&b.get(0, Value::Null));
    match chown(&p, b.opt(1), b.opt(2), follow) {
        Ok(err) if !err.is_empty() => Ok(Value::from(err)),
        Ok(_) => Ok(Value::Null),
        Err(e) => Err(format!(
            "[Errno {}] {e}: '{p}'",
            e.raw_os_error().unwrap_or(0)
        )),
    }
}

fn f_chown(_: &Context, a: Vec<Value>, k: Map) -> Result<Value, String> {
    chown_fun("file.chown", true, a, k)
}
fn f_lchown(_: &Context, a: Vec<Value>, k: Map) -> Result<Value, String> {
    chown_fun("file.lchown", false, a, k)
}

fn ugm(b: &super::Bound, i: usize) -> (Option<Value>, Option<Value>, Option<String>) {
    (b.opt(i).cloned(), b.opt(i + 1).cloned(), b.str(i + 2))
}

fn f_mkdir(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.mkdir",
        &["dir_path", "user", "group", "mode"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let (u, g, m) = ugm(&b, 1);
    mkdir(
        &str_of(&b.get(0, Value::Null)),
        u.as_ref(),
        g.as_ref(),
        m.as_deref(),
    )?;
    Ok(Value::Bool(true))
}

fn f_makedirs(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.makedirs",
        &["path", "user", "group", "mode"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let (u, g, m) = ugm(&b, 1);
    let path = expanduser(&str_of(&b.get(0, Value::Null)));
    let dirname = normpath(&py_dirname(&path));
    if Path::new(&dirname).is_dir() {
        return Ok(Value::from(format!("Directory '{dirname}' already exists")));
    }
    if Path::new(&dirname).exists() {
        return Ok(Value::from(format!(
            "The path '{dirname}' already exists and is not a directory"
        )));
    }
    makedirs(&path, u.as_ref(), g.as_ref(), m.as_deref()).map_err(super::invocation_error)?;
    Ok(Value::Null)
}

fn f_makedirs_perms(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.makedirs_perms",
        &["name", "user", "group", "mode"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let (u, g, m) = ugm(&b, 1);
    let m = m.unwrap_or_else(|| "0755".into());
    makedirs_perms(
        &str_of(&b.get(0, Value::Null)),
        u.as_ref(),
        g.as_ref(),
        Some(&m),
    )?;
    Ok(Value::Null)
}

fn f_remove(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.remove", &["path"], 1, false, true, args, kwargs)?;
    let p = expanduser(&str_of(&b.get(0, Value::Null)));
    if !p.starts_with('/') {
        return Err(super::invocation_error(format!(
            "File path must be absolute: {p}"
        )));
    }
    remove(&p).map(Value::Bool)
}

fn f_copy(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.copy",
        &["src", "dst", "recurse", "remove_existing"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let src = expanduser(&str_of(&b.get(0, Value::Null)));
    let dst = expanduser(&str_of(&b.get(1, Value::Null)));
    let recurse = b.opt(2).is_some_and(Value::truthy);
    let remove_existing = b.opt(3).is_some_and(Value::truthy);
    if !src.starts_with('/') {
        return Err(super::invocation_error("File path must be absolute."));
    }
    if !Path::new(&src).exists() {
        return Err(format!("No such file or directory '{src}'"));
    }
    let pre = stats(&src, true)?;
    let fail = || format!("Could not copy '{src}' to '{dst}'");
    if Path::new(&dst).is_dir() || Path::new(&src).is_dir() {
        if !recurse {
            return Err(super::invocation_error(
                "Cannot copy overwriting a directory without recurse flag set to true!",
            ));
        }
        if remove_existing && Path::new(&dst).exists() {
            std::fs::remove_dir_all(&dst).map_err(|_| fail())?;
        }
        copy_tree(Path::new(&src), Path::new(&dst)).map_err(|_| fail())?;
    } else {
        let data = std::fs::read(&src).map_err(|_| fail())?;
        let mode = std::fs::metadata(&dst)
            .ok()
            .map(|m| m.mode() & 0o7777)
            .unwrap_or(0o644 & !0o022);
        brine_core::fsutil::write_atomic(Path::new(&dst), &data, Some(mode)).map_err(|_| fail())?;
    }
    let mut ret = Ret::new(dst.as_str());
    let mode = Value::from(pre.mode.as_str());
    check_perms(
        &dst,
        &mut ret,
        Some(&pre.user),
        Some(&pre.group),
        Some(&mode),
        false,
        false,
    )?;
    Ok(Value::Bool(true))
}

fn f_get_diff(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.get_diff",
        &[
            "file1",
            "file2",
            "saltenv",
            "show_filenames",
            "show_changes",
            "template",
            "source_hash_file1",
            "source_hash_file2",
        ],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let saltenv = b.str(2).unwrap_or_else(|| "base".into());
    let show_filenames = b.opt(3).map(Value::truthy).unwrap_or(true);
    let show_changes = b.opt(4).map(Value::truthy).unwrap_or(true);
    let client = ctx.file_client(&ctx.opts);
    let mut data = Vec::new();
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    for i in 0..2 {
        let f = str_of(&b.get(i, Value::Null));
        let got = if f.starts_with("salt://") {
            let (p, env) = match f.trim_start_matches("salt://").split_once("?saltenv=") {
                Some((p, e)) => (p.to_string(), e.to_string()),
                None => (f.trim_start_matches("salt://").to_string(), saltenv.clone()),
            };
            // Salt names the copy it caches: cachedir/files/<env>/<path>.
            let cachedir = ctx
                .opts
                .get("cachedir")
                .map(str_of)
                .unwrap_or_else(|| "/var/cache/salt/minion".into());
            client
                .get(&p, &env)
                .ok()
                .flatten()
                .map(|d| (d.bytes, format!("{cachedir}/files/{env}/{p}")))
        } else {
            let p = expanduser(&f);
            std::fs::read(&p).ok().map(|d| (d, p))
        };
        match got {
            Some((d, p)) => {
                data.push(d);
                paths.push(p);
            }
            None => errors.push(format!("File {f} not found")),
        }
    }
    if !errors.is_empty() {
        return Err("Failed to cache one or more files".into());
    }
    let names = show_filenames.then(|| (paths[0].as_str(), paths[1].as_str()));
    Ok(Value::from(get_diff(
        &data[0],
        &data[1],
        names,
        show_changes,
    )))
}

fn f_check_perms(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.check_perms",
        &[
            "name",
            "ret",
            "user",
            "group",
            "mode",
            "attrs",
            "follow_symlinks",
            "seuser",
            "serole",
            "setype",
            "serange",
        ],
        5,
        false,
        false,
        args,
        kwargs,
    )?;
    let name = expanduser(&str_of(&b.get(0, Value::Null)));
    let mut ret = Ret::new(name.as_str());
    ret.comment = Value::List(Vec::new());
    if let Some(Value::Map(m)) = b.opt(1).filter(|v| v.truthy()) {
        if let Some(Value::Map(c)) = m.get(&Value::from("changes")) {
            ret.changes = c.clone();
        }
        if let Some(c) = m.get(&Value::from("comment")) {
            ret.comment = c.clone();
        }
        if let Some(r) = m.get(&Value::from("result")) {
            ret.result = r.as_bool();
        }
        if let Some(n) = m.get(&Value::from("name")) {
            ret.name = n.clone();
        }
    } else {
        ret.comment = Value::from("");
    }
    let follow = b.opt(6).is_some_and(Value::truthy);
    let perms = check_perms(&name, &mut ret, b.opt(2), b.opt(3), b.opt(4), follow, false)?;
    let mut pm = Map::default();
    pm.insert(Value::from("luser"), perms.luser);
    pm.insert(Value::from("lgroup"), perms.lgroup);
    pm.insert(Value::from("lmode"), Value::from(perms.lmode));
    if let Some(u) = perms.cuser {
        pm.insert(Value::from("cuser"), u);
    }
    if let Some(g) = perms.cgroup {
        pm.insert(Value::from("cgroup"), g);
    }
    if let Some(m) = perms.cmode {
        pm.insert(Value::from("cmode"), Value::from(m));
    }
    let mut rm = Map::default();
    rm.insert(Value::from("name"), ret.name);
    rm.insert(Value::from("changes"), Value::Map(ret.changes));
    rm.insert(Value::from("comment"), ret.comment);
    rm.insert(
        Value::from("result"),
        ret.result.map(Value::Bool).unwrap_or(Value::Null),
    );
    Ok(Value::List(vec![Value::Map(rm), Value::Map(pm)]))
}

fn f_normpath(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.normpath", &["path"], 1, false, false, args, kwargs)?;
    Ok(Value::from(normpath(&str_of(&b.get(0, Value::Null)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abspath_shortcut_agrees_with_folding() {
        for p in [
            "/a/b",
            "/a/./b",
            "/a/../b",
            "/a//b",
            "/a/b/",
            "/a/b/.",
            "/a/b/..",
            "/",
            "/.hidden/x",
            "/a/...",
            "/a/..b",
            "/a/.b.",
            "/x",
        ] {
            let folded = {
                let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty() && *c != ".").fold(
                    Vec::new(),
                    |mut acc, c| {
                        if c == ".." {
                            acc.pop();
                        } else {
                            acc.push(c);
                        }
                        acc
                    },
                );
                format!("/{}", parts.join("/"))
            };
            assert_eq!(abspath(p), folded, "{p}");
            if is_normal_abs(p) {
                assert_eq!(p, folded, "{p}");
            }
        }
    }

    #[test]
    fn mode_strings_are_four_octal_digits() {
        for bits in [0, 0o644, 0o755, 0o4755, 0o7777, 0o100644] {
            assert_eq!(
                mode_string(bits),
                normalize_mode_str(&format!("0o{:o}", bits & 0o7777))
            );
        }
        for m in [
            "644", "0644", "0o644", "'0755'", "\"600\"", "0", "", "04755", "+644", "éé",
        ] {
            let old = {
                let m = m.replace("0o", "0");
                let m = m
                    .trim_matches('"')
                    .trim_matches('\'')
                    .trim_start_matches('0');
                format!("{m:0>4}")
            };
            assert_eq!(normalize_mode_str(m), old, "{m}");
        }
    }

    #[test]
    fn path_helpers_like_python() {
        assert_eq!(py_basename("/a/b.txt"), "b.txt");
        assert_eq!(py_basename("/a/b/"), "");
        assert_eq!(py_dirname("/a/b.txt"), "/a");
        assert_eq!(py_dirname("/a.txt"), "/");
        assert_eq!(py_dirname("a//b"), "a");
        assert_eq!(py_dirname("b"), "");
        assert_eq!(
            py_join(&["/a".into(), "b".into(), "/c".into(), "d".into()]),
            "/c/d"
        );
        assert_eq!(py_join(&["a/".into(), "b".into()]), "a/b");
        assert_eq!(py_join(&["".into(), "b".into()]), "b");
    }

    #[test]
    fn modes_normalize_like_salt() {
        let n = |v: Value| normalize_mode(Some(&v));
        assert_eq!(n(Value::Int(644)), Some("0644".into()));
        assert_eq!(n(Value::from("0o600")), Some("0600".into()));
        assert_eq!(n(Value::from("00755")), Some("0755".into()));
        assert_eq!(n(Value::from("'4755'")), Some("4755".into()));
        assert_eq!(n(Value::Int(0)), Some("0000".into()));
        assert_eq!(normalize_mode(None), None);
        assert_eq!(mode_string(0o100644), "0644");
        assert_eq!(parse_mode("0750"), Some(0o750));
        assert_eq!(parse_mode("9"), None);
    }

    #[test]
    fn normpath_like_python() {
        assert_eq!(normpath("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(normpath("a/../../b"), "../b");
        assert_eq!(normpath("/.."), "/");
        assert_eq!(normpath(""), ".");
        assert_eq!(normpath("//x"), "//x");
    }

    #[test]
    fn text_detection_like_salt() {
        assert!(is_text(b""));
        assert!(is_text("h\u{e9}llo\n".as_bytes()));
        assert!(!is_text(b"a\x00b"));
        assert!(!is_text(&[0xff; 10]));
        assert_eq!(readlines(b"a\nb"), vec!["a\n".to_string(), "b".to_string()]);
    }

    #[test]
    fn ids_resolve() {
        assert_eq!(user_to_uid("root"), Some(0));
        assert_eq!(uid_to_user(0).as_deref(), Some("root"));
        assert_eq!(gid_to_group(0).as_deref(), Some("root"));
        assert_eq!(group_to_gid("no such group here"), None);
    }
}
