//! Small system helpers shared by the grain collectors: Salt's `which`,
//! quiet command execution (like `cmdmod._run_quiet`), `uname`, name
//! resolution through libc, user/group lookups and SHA-256.
//!
//! Every helper returns `Option`/`Result` instead of panicking: a missing
//! binary or file means the grain is skipped, as in Salt.

use std::ffi::{CStr, CString};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread::JoinHandle;

/// `salt.utils.path.which`: search `$PATH` plus the usual system directories
/// for an executable regular file. An absolute/relative path containing a
/// slash is checked directly.
///
/// Answers are remembered until [`forget_which`] (the end of a grains
/// collection), which asks for some programs several times: on a file
/// system where a failed `stat` is slow, the repeated PATH searches were a
/// sizeable part of collecting grains.
pub fn which(exe: &str) -> Option<PathBuf> {
    let key = (exe.to_string(), std::env::var("PATH").unwrap_or_default());
    if let Some(found) = KNOWN
        .lock()
        .ok()
        .and_then(|k| k.as_ref().and_then(|m| m.get(&key).cloned()))
    {
        return found;
    }
    let found = which_uncached(exe);
    if let Ok(mut k) = KNOWN.lock() {
        k.get_or_insert_with(Known::new).insert(key, found.clone());
    }
    found
}

/// Forget what [`which`] found (programs may be installed or removed
/// before the next grains collection).
pub fn forget_which() {
    if let Ok(mut k) = KNOWN.lock() {
        *k = None;
    }
}

/// `(program, PATH)` -> what [`which`] found.
type Known = std::collections::HashMap<(String, String), Option<PathBuf>>;
static KNOWN: Mutex<Option<Known>> = Mutex::new(None);

fn which_uncached(exe: &str) -> Option<PathBuf> {
    if exe.is_empty() {
        return None;
    }
    let is_exec = |p: &Path| -> bool {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if exe.contains('/') {
        let p = PathBuf::from(exe);
        return if is_exec(&p) { Some(p) } else { None };
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let mut dirs: Vec<String> = path.split(':').map(str::to_string).collect();
    for extra in [
        "/sbin",
        "/bin",
        "/usr/sbin",
        "/usr/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ] {
        if !dirs.iter().any(|d| d == extra) {
            dirs.push(extra.to_string());
        }
    }
    for d in dirs {
        if d.is_empty() {
            continue;
        }
        let p = Path::new(&d).join(exe);
        if is_exec(&p) {
            return Some(p);
        }
    }
    None
}

/// Output of a finished command: return code and stdout (trailing
/// whitespace stripped, as cmdmod does by default).
pub struct CmdOut {
    pub retcode: i32,
    pub stdout: String,
}

/// Key of a command started ahead of time: program, arguments, stderr merge.
type CmdKey = (String, Vec<String>, bool);

/// Commands started by [`prefetch`] whose output nobody has taken yet.
static PREFETCHED: Mutex<Vec<(CmdKey, JoinHandle<Option<CmdOut>>)>> = Mutex::new(Vec::new());

/// Start these commands now, each on its own thread, so that the grain
/// collectors (which run them one after the other, as Salt does) find their
/// output ready in [`run`]. The command lines and their environment are the
/// same as [`run`] would use, so the results are identical; a command that
/// is never asked for is simply discarded.
pub fn prefetch(cmds: Vec<(String, Vec<String>, bool)>) {
    let Ok(mut pending) = PREFETCHED.lock() else {
        return;
    };
    for (prog, args, merge) in cmds {
        let key = (prog.clone(), args.clone(), merge);
        if pending.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let handle = std::thread::spawn(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_now(&prog, &args, merge)
        });
        pending.push((key, handle));
    }
}

/// Run a command without a shell; `None` when it cannot be started.
/// With `merge_stderr`, stderr is appended to stdout (like `cmd.run`).
/// A command started by [`prefetch`] is not run again: its output is taken.
pub fn run(prog: &str, args: &[&str], merge_stderr: bool) -> Option<CmdOut> {
    let handle = PREFETCHED.lock().ok().and_then(|mut pending| {
        let pos = pending.iter().position(|((p, a, m), _)| {
            p == prog && *m == merge_stderr && a.iter().map(String::as_str).eq(args.iter().copied())
        })?;
        Some(pending.swap_remove(pos).1)
    });
    match handle {
        Some(h) => h.join().ok().flatten(),
        None => run_now(prog, args, merge_stderr),
    }
}

fn run_now(prog: &str, args: &[&str], merge_stderr: bool) -> Option<CmdOut> {
    let out = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if merge_stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .output()
        .ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    if merge_stderr && !out.stderr.is_empty() {
        text.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    Some(CmdOut {
        retcode: out.status.code().unwrap_or(-1),
        stdout: text.trim_end().to_string(),
    })
}

/// The five fields of `uname(2)`.
pub struct Uname {
    pub sysname: String,
    pub nodename: String,
    pub release: String,
    pub version: String,
    pub machine: String,
}

fn cchars_to_string(buf: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

pub fn uname() -> Option<Uname> {
    // SAFETY: utsname is plain old data; uname fills it and we only read
    // NUL-terminated arrays within their bounds.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::uname(&mut u) };
    if rc != 0 {
        return None;
    }
    Some(Uname {
        sysname: cchars_to_string(&u.sysname),
        nodename: cchars_to_string(&u.nodename),
        release: cchars_to_string(&u.release),
        version: cchars_to_string(&u.version),
        machine: cchars_to_string(&u.machine),
    })
}

/// `socket.gethostname()`.
pub fn gethostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its full length.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return uname().map(|u| u.nodename).unwrap_or_default();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// One `getaddrinfo` answer.
pub struct AddrInfo {
    pub addr: IpAddr,
    pub canonname: Option<String>,
}

/// `getaddrinfo(host, NULL, hints)`; `Err` on resolver failure.
pub fn getaddrinfo(
    host: &str,
    family: i32,
    socktype: i32,
    protocol: i32,
    flags: i32,
) -> Result<Vec<AddrInfo>, i32> {
    let chost = CString::new(host).map_err(|_| libc::EAI_NONAME)?;
    // SAFETY: hints is zeroed POD; res is only read when rc == 0 and freed
    // with freeaddrinfo; every ai_addr is read according to its family.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_family = family;
        hints.ai_socktype = socktype;
        hints.ai_protocol = protocol;
        hints.ai_flags = flags;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        let rc = libc::getaddrinfo(chost.as_ptr(), std::ptr::null(), &hints, &mut res);
        if rc != 0 {
            return Err(rc);
        }
        let mut out = Vec::new();
        let mut cur = res;
        while !cur.is_null() {
            let ai = &*cur;
            let canonname = if ai.ai_canonname.is_null() {
                None
            } else {
                Some(
                    CStr::from_ptr(ai.ai_canonname)
                        .to_string_lossy()
                        .into_owned(),
                )
            };
            if !ai.ai_addr.is_null() {
                if ai.ai_family == libc::AF_INET {
                    let sa = &*(ai.ai_addr as *const libc::sockaddr_in);
                    let ip = std::net::Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr));
                    out.push(AddrInfo {
                        addr: IpAddr::V4(ip),
                        canonname,
                    });
                } else if ai.ai_family == libc::AF_INET6 {
                    let sa = &*(ai.ai_addr as *const libc::sockaddr_in6);
                    let ip = std::net::Ipv6Addr::from(sa.sin6_addr.s6_addr);
                    out.push(AddrInfo {
                        addr: IpAddr::V6(ip),
                        canonname,
                    });
                }
            }
            cur = ai.ai_next;
        }
        libc::freeaddrinfo(res);
        Ok(out)
    }
}

/// Reverse lookup of an address (`gethostbyaddr(ip)[0]`), `None` if the
/// address has no name.
pub fn reverse_name(ip: IpAddr) -> Option<String> {
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: the sockaddr is built on the stack with its exact size; host
    // is a writable buffer of the length we pass.
    let rc = unsafe {
        match ip {
            IpAddr::V4(v4) => {
                let mut sa: libc::sockaddr_in = std::mem::zeroed();
                sa.sin_family = libc::AF_INET as libc::sa_family_t;
                sa.sin_addr.s_addr = u32::from(v4).to_be();
                libc::getnameinfo(
                    &sa as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
            IpAddr::V6(v6) => {
                let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_addr.s6_addr = v6.octets();
                libc::getnameinfo(
                    &sa as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
    };
    if rc != 0 {
        return None;
    }
    Some(cchars_to_string(&host))
}

/// Python's `socket.getfqdn(name)`: resolve the name, reverse-resolve the
/// address and prefer a dotted name; fall back to the name itself.
/// (Host aliases are not consulted.)
pub fn getfqdn(name: &str) -> String {
    let name = name.trim();
    let name = if name.is_empty() || name == "0.0.0.0" || name == "::" {
        gethostname()
    } else {
        name.to_string()
    };
    let first = match getaddrinfo(&name, libc::AF_UNSPEC, 0, 0, 0) {
        Ok(v) if !v.is_empty() => v[0].addr,
        _ => return name,
    };
    match reverse_name(first) {
        Some(h) => h,
        None => name,
    }
}

/// Username of a uid (`pwd.getpwuid(uid).pw_name`).
pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: pwd and buf outlive the call; result points into them.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned())
    }
}

/// Primary gid of a user name (`pwd.getpwnam(name).pw_gid`).
pub fn user_gid(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: as above.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() {
            return None;
        }
        Some(pwd.pw_gid)
    }
}

/// Group name of a gid (`grp.getgrgid(gid).gr_name`).
pub fn group_name(gid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 65536];
    // SAFETY: as above.
    unsafe {
        let mut grp: libc::group = std::mem::zeroed();
        let mut result: *mut libc::group = std::ptr::null_mut();
        let rc = libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || grp.gr_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr(grp.gr_name).to_string_lossy().into_owned())
    }
}

pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

pub fn egid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

/// Where [`run_cached`] keeps command outputs: a per-boot directory
/// (`/run` is a tmpfs, emptied at every boot), root only; `None` for other
/// users, who then always run the commands.
fn cache_file() -> Option<PathBuf> {
    if euid() != 0 {
        return None;
    }
    Some(PathBuf::from("/run/brine/grains-commands.json"))
}

/// The boot's identity, for outputs that describe the running machine.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The cache key of a command: program, arguments, stderr merge, and the
/// identity of the program file (device, inode, size, mtime), plus the
/// boot id when `per_boot`. Any upgrade of the binary changes the key.
fn cache_key(prog: &str, args: &[&str], merge_stderr: bool, per_boot: bool) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(prog).ok()?;
    let boot = if per_boot { boot_id() } else { String::new() };
    Some(format!(
        "{prog}\u{1f}{}\u{1f}{merge_stderr}\u{1f}{}:{}:{}:{}.{}\u{1f}{boot}",
        args.join("\u{1e}"),
        md.dev(),
        md.ino(),
        md.size(),
        md.mtime(),
        md.mtime_nsec()
    ))
}

static CMD_CACHE: Mutex<Option<brine_core::Map>> = Mutex::new(None);

fn cache_lookup(key: &str) -> Option<CmdOut> {
    use brine_core::Value;
    let mut guard = CMD_CACHE.lock().ok()?;
    if guard.is_none() {
        let mut map = brine_core::Map::default();
        if let Some(path) = cache_file() {
            // Trust the file only if it is root's and not writable by others.
            let trusted = std::fs::symlink_metadata(&path)
                .map(|m| {
                    use std::os::unix::fs::MetadataExt;
                    m.is_file() && m.uid() == 0 && m.mode() & 0o022 == 0
                })
                .unwrap_or(false);
            if trusted {
                if let Some(Value::Map(m)) = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .map(|j| Value::from_json(&j))
                {
                    map = m;
                }
            }
        }
        *guard = Some(map);
    }
    let entry = guard.as_ref()?.get(&Value::str(key))?;
    let list = entry.as_list()?;
    match (list.first(), list.get(1)) {
        (Some(Value::Int(rc)), Some(Value::Str(out))) => Some(CmdOut {
            retcode: *rc as i32,
            stdout: out.clone(),
        }),
        _ => None,
    }
}

fn cache_store(key: &str, out: &CmdOut) {
    use brine_core::Value;
    let Some(path) = cache_file() else {
        return;
    };
    let Ok(mut guard) = CMD_CACHE.lock() else {
        return;
    };
    let map = guard.get_or_insert_with(brine_core::Map::default);
    map.insert(
        Value::str(key),
        Value::List(vec![
            Value::Int(out.retcode as i128),
            Value::Str(out.stdout.clone()),
        ]),
    );
    let text = Value::Map(map.clone()).to_json().to_string();
    if let Some(dir) = path.parent() {
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let _ = brine_core::fsutil::write_atomic(&path, text.as_bytes(), Some(0o600));
}

/// Whether [`run_cached`] has this command's output already.
pub fn is_cached(prog: &str, args: &[&str], merge_stderr: bool, per_boot: bool) -> bool {
    cache_key(prog, args, merge_stderr, per_boot)
        .and_then(|k| cache_lookup(&k))
        .is_some()
}

/// [`run`] for commands whose output depends only on the program file
/// (`systemctl --version`, `dpkg --print-architecture`) or, with
/// `per_boot`, on the running machine (`systemd-detect-virt`): the output
/// is kept in a root-only per-boot cache keyed by the program's identity,
/// so later runs skip the child process. The output is the command's own,
/// byte for byte.
pub fn run_cached(prog: &str, args: &[&str], merge_stderr: bool, per_boot: bool) -> Option<CmdOut> {
    let key = cache_key(prog, args, merge_stderr, per_boot);
    if let Some(hit) = key.as_deref().and_then(cache_lookup) {
        return Some(hit);
    }
    let out = run(prog, args, merge_stderr)?;
    if let Some(k) = key {
        cache_store(&k, &out);
    }
    Some(out)
}
