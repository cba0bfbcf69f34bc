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
pub fn which(exe: &str) -> Option<PathBuf> {
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

/// SHA-256 digest (FIPS 180-4), used for the `server_id` grain.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bitlen = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bitlen.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v[7] = v[6];
            v[6] = v[5];
            v[5] = v[4];
            v[4] = v[3].wrapping_add(t1);
            v[3] = v[2];
            v[2] = v[1];
            v[1] = v[0];
            v[0] = t1.wrapping_add(t2);
        }
        for (hi, vi) in h.iter_mut().zip(v.iter()) {
            *hi = hi.wrapping_add(*vi);
        }
    }
    let mut out = [0u8; 32];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Python `shlex.split` (POSIX mode, no comments). `None` on an unclosed
/// quote (Python raises `ValueError`).
pub fn shlex_split(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_token {
                    out.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            '\'' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return None,
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('\\' | '"')) => cur.push(n),
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => return None,
                        },
                        Some(ch) => cur.push(ch),
                        None => return None,
                    }
                }
            }
            '\\' => {
                in_token = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => return None,
                }
            }
            other => {
                in_token = true;
                cur.push(other);
            }
        }
    }
    if in_token {
        out.push(cur);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn shlex_basic() {
        assert_eq!(
            shlex_split(r#"a=b "c d"=e 'f' g\ h"#).unwrap(),
            vec!["a=b", "c d=e", "f", "g h"]
        );
        assert!(shlex_split("a \"b").is_none());
    }
}
