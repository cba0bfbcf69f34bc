//! `brine-key`: salt-key over the master's pki dir (salt/key.py `KeyCLI`,
//! salt/output/key.py), with Salt's flags, messages, prompts, output order
//! and exit codes:
//!
//! - `-L` / `-l STATE` list keys, `-f ID` / `-F` fingerprints, `-p ID` /
//!   `-P` public keys;
//! - `-a GLOB` / `-A` accept, `-r GLOB` / `-R` reject, `-d GLOB` / `-D`
//!   delete, each after printing the keys concerned and asking
//!   `Proceed?` (unless `-y`); `--include-accepted`, `--include-rejected`,
//!   `--include-denied`, `--include-all` widen accept/reject as in Salt.
//!
//! Rejecting or deleting drops the rotate marker (`cachedir/.dfn`, unless
//! `--rotate-aes-key False`) and prunes `cachedir/minions/<id>` of ids
//! without a key (unless `--preserve-minions True` / preserve_minion_cache),
//! as salt-key does.

use super::{clap_error, k, load_opts, opt_path, usage_error, OutFlags};
use crate::keys::{drop_rotate_marker, file_finger, KeyState, KeyStore};
use brine_core::config::fnmatch;
use brine_core::value::{Map, Value};
use brine_core::wire::keys::PublicKey;
use clap::Parser;
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::Path;

const ACC: &str = "minions";
const PEND: &str = "minions_pre";
const REJ: &str = "minions_rejected";
const DEN: &str = "minions_denied";
const DIRS: [&str; 4] = [ACC, PEND, REJ, DEN];
const USAGE: &str = "[options]";

/// salt-key's options.
#[derive(Parser, Debug, Default)]
#[command(
    name = "brine-key",
    about = "Manage the master's minion keys (salt-key)"
)]
pub struct KeyArgs {
    /// Configuration directory.
    #[arg(short = 'c', long = "config-dir", default_value = super::DEFAULT_CONFIG_DIR)]
    pub config_dir: String,
    /// List keys: pre/un/unaccepted, acc/accepted, rej/rejected, den/denied, all.
    #[arg(short = 'l', long = "list", value_name = "ARG", default_value = "")]
    pub list: String,
    /// List all keys.
    #[arg(short = 'L', long = "list-all")]
    pub list_all: bool,
    /// Accept the keys matching this glob.
    #[arg(short = 'a', long = "accept", default_value = "")]
    pub accept: String,
    /// Accept all pending keys.
    #[arg(short = 'A', long = "accept-all")]
    pub accept_all: bool,
    /// Reject the keys matching this glob.
    #[arg(short = 'r', long = "reject", default_value = "")]
    pub reject: String,
    /// Reject all pending keys.
    #[arg(short = 'R', long = "reject-all")]
    pub reject_all: bool,
    /// Include rejected/accepted keys when accepting/rejecting.
    #[arg(long = "include-all")]
    pub include_all: bool,
    /// Include accepted keys when rejecting.
    #[arg(long = "include-accepted")]
    pub include_accepted: bool,
    /// Include rejected keys when accepting.
    #[arg(long = "include-rejected")]
    pub include_rejected: bool,
    /// Include denied keys when accepting/rejecting.
    #[arg(long = "include-denied")]
    pub include_denied: bool,
    /// Print the public keys matching this glob.
    #[arg(short = 'p', long = "print", default_value = "")]
    pub print: String,
    /// Print all public keys.
    #[arg(short = 'P', long = "print-all")]
    pub print_all: bool,
    /// Delete the keys matching this glob.
    #[arg(short = 'd', long = "delete", default_value = "")]
    pub delete: String,
    /// Delete all keys.
    #[arg(short = 'D', long = "delete-all")]
    pub delete_all: bool,
    /// Print the fingerprints of the keys matching this glob.
    #[arg(short = 'f', long = "finger", default_value = "")]
    pub finger: String,
    /// Print all fingerprints.
    #[arg(short = 'F', long = "finger-all")]
    pub finger_all: bool,
    /// Suppress output.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Answer "Yes" to all questions.
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
    /// False: do not ask the master to rotate its AES key on delete/reject.
    #[arg(long = "rotate-aes-key", default_value = "True")]
    pub rotate_aes_key: String,
    /// True: keep the minion cache of deleted keys.
    #[arg(long = "preserve-minions", default_value = "False")]
    pub preserve_minions: String,
    /// Generate a key pair NAME.pem / NAME.pub (in --gen-keys-dir).
    #[arg(long = "gen-keys", default_value = "")]
    pub gen_keys: String,
    /// Where --gen-keys writes.
    #[arg(long = "gen-keys-dir", default_value = ".")]
    pub gen_keys_dir: String,
    /// Bits of a generated key (2048 to 32768).
    #[arg(long = "keysize", default_value_t = 2048)]
    pub keysize: usize,
    #[command(flatten)]
    pub out_flags: OutFlags,
}

/// An ordered `status -> [ids]` or `status -> {id: text}` result.
type Ret = Vec<(String, Items)>;

/// The ids of one status, each with its text (fingerprint, key) if any.
type Items = Vec<(String, Option<String>)>;

fn ret_to_value(ret: &Ret) -> Value {
    let mut m = Map::default();
    for (status, items) in ret {
        let dict = items.iter().any(|(_, v)| v.is_some());
        let v = if dict {
            Value::Map(
                items
                    .iter()
                    .map(|(id, t)| (k(id), Value::str(t.clone().unwrap_or_default())))
                    .collect(),
            )
        } else {
            Value::List(items.iter().map(|(id, _)| k(id)).collect())
        };
        m.insert(k(status), v);
    }
    Value::Map(m)
}

/// salt/output/key.py: statuses sorted by name, ids sorted, `id:  text`
/// for dicts; coloured per status when `color`.
pub fn key_output(ret: &Ret, color: bool) -> String {
    let c = |code: &'static str| if color { code } else { "" };
    let endc = c("\x1b[0;0m");
    let mut statuses: Vec<&(String, Items)> = ret.iter().collect();
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (status, items) in statuses {
        let (head, item_color) = match status.as_str() {
            PEND => ("Unaccepted Keys:", (c("\x1b[0;1;31m"), c("\x1b[0;31m"))),
            ACC => ("Accepted Keys:", (c("\x1b[0;1;32m"), c("\x1b[0;32m"))),
            DEN => ("Denied Keys:", (c("\x1b[0;1;35m"), c("\x1b[0;35m"))),
            REJ => ("Rejected Keys:", (c("\x1b[0;1;34m"), c("\x1b[0;34m"))),
            _ => ("Local Keys:", (c("\x1b[0;1;35m"), c("\x1b[0;35m"))),
        };
        out.push_str(&format!("{}{head}{endc}\n", item_color.0));
        let mut items: Vec<&(String, Option<String>)> = items.iter().collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, text) in items {
            match text {
                None => out.push_str(&format!("{}{id}{endc}\n", item_color.1)),
                Some(t) => out.push_str(&format!("{}{id}:  {t}{endc}\n", item_color.1)),
            }
        }
    }
    out
}

/// `sorted_ignorecase`.
fn sorted_ignorecase(mut v: Vec<String>) -> Vec<String> {
    v.sort_by_key(|a| a.to_lowercase());
    v
}

struct Ctx<'a> {
    store: KeyStore,
    cachedir: std::path::PathBuf,
    opts: &'a Map,
}

impl Ctx<'_> {
    /// Salt's `list_keys`: every status dir in order, ids sorted
    /// case-insensitively, dot files skipped; unreadable dirs are absent.
    fn list_keys(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for d in DIRS {
            let Ok(rd) = std::fs::read_dir(self.store.pki_dir().join(d)) else {
                continue;
            };
            let names: Vec<String> = rd
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.'))
                .collect();
            out.push((d.to_string(), sorted_ignorecase(names)));
        }
        out
    }

    fn all_keys(&self) -> Vec<(String, Vec<String>)> {
        let mut v = self.list_keys();
        v.push(("local".to_string(), self.store.local_keys()));
        v
    }

    /// Salt's `name_match`: a glob, or a comma-separated list of globs
    /// (an id matching several is listed several times, as in Salt).
    fn name_match(&self, pat: &str, full: bool) -> Vec<(String, Vec<String>)> {
        let keys = if full {
            self.all_keys()
        } else {
            self.list_keys()
        };
        let pats: Vec<&str> = if pat.contains(',') {
            pat.split(',').collect()
        } else {
            vec![pat]
        };
        let mut ret: Vec<(String, Vec<String>)> = Vec::new();
        for (status, ids) in keys {
            let mut hits = Vec::new();
            for id in sorted_ignorecase(ids) {
                for p in &pats {
                    if fnmatch(&id, p) {
                        hits.push(id.clone());
                    }
                }
            }
            if !hits.is_empty() {
                ret.push((status, hits));
            }
        }
        ret
    }

    /// Salt's `dict_match`: where the given ids are now.
    fn dict_match(&self, matches: &[(String, Vec<String>)]) -> Vec<(String, Vec<String>)> {
        let cur = self.list_keys();
        let mut ret: Vec<(String, Vec<String>)> = Vec::new();
        for (_, ids) in matches {
            for id in sorted_ignorecase(ids.clone()) {
                for d in DIRS {
                    let present = cur
                        .iter()
                        .find(|(s, _)| s == d)
                        .is_some_and(|(_, l)| l.iter().any(|n| fnmatch(n, &id)));
                    if present {
                        match ret.iter_mut().find(|(s, _)| s == d) {
                            Some((_, l)) => l.push(id.clone()),
                            None => ret.push((d.to_string(), vec![id.clone()])),
                        }
                    }
                }
            }
        }
        ret
    }

    /// A key file's text; a symlink leading out of pki_dir is not followed.
    fn read_key(&self, status: &str, id: &str) -> Option<String> {
        let state = KeyState::ALL.into_iter().find(|s| s.dir_name() == status)?;
        self.store.pem_in(state, id)
    }

    fn path(&self, status: &str, id: &str) -> Option<std::path::PathBuf> {
        crate::keys::valid_id(id).then(|| self.store.pki_dir().join(status).join(id))
    }

    /// Salt's `check_minion_cache`: remove `cachedir/minions/<id>` for ids
    /// that have no key (and are not preserved).
    fn check_minion_cache(&self, preserve: &[String]) {
        if self
            .opts
            .get(&k("preserve_minion_cache"))
            .is_some_and(Value::truthy)
        {
            return;
        }
        let minions: Vec<String> = self.list_keys().into_iter().flat_map(|(_, l)| l).collect();
        let m_cache = self.cachedir.join("minions");
        let Ok(rd) = std::fs::read_dir(&m_cache) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !minions.contains(&name) && !preserve.contains(&name) {
                let p = e.path();
                let is_dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
                let _ = if is_dir {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
}

fn as_ret(v: Vec<(String, Vec<String>)>) -> Ret {
    v.into_iter()
        .map(|(s, l)| (s, l.into_iter().map(|i| (i, None)).collect()))
        .collect()
}

fn py_bool_str(s: &str, default: bool) -> bool {
    match s.to_lowercase().as_str() {
        "true" => true,
        "false" => false,
        _ => default,
    }
}

/// Run brine-key with `args` (argv including the program name); returns
/// the exit code. Output, errors and the confirmation answer go through
/// the given streams.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    stdin: &mut dyn BufRead,
) -> i32 {
    let argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let a = match KeyArgs::try_parse_from(&argv) {
        Ok(a) => a,
        Err(e) => return clap_error(e, &argv, out, err, "brine-key", USAGE),
    };
    if !a.list.is_empty()
        && !["acc", "pre", "un", "rej", "den", "all"]
            .iter()
            .any(|p| a.list.starts_with(p))
    {
        let msg = format!("'{}' is not a valid argument to '--list'", a.list);
        return usage_error(err, "brine-key", USAGE, &msg);
    }
    if a.keysize < 2048 {
        return usage_error(
            err,
            "brine-key",
            USAGE,
            "The minimum value for keysize is 2048",
        );
    }
    if a.keysize > 32768 {
        return usage_error(
            err,
            "brine-key",
            USAGE,
            "The maximum value for keysize is 32768",
        );
    }
    if !a.gen_keys.is_empty() {
        // salt-key --gen-keys: write NAME.pem (0400) / NAME.pub (0644),
        // keeping an existing private key; print the public key's
        // fingerprint as `{return: finger}` (nested).
        let dir = Path::new(&a.gen_keys_dir);
        if let Err(e) = std::fs::create_dir_all(dir) {
            let _ = writeln!(err, "Error: {}: {e}", dir.display());
            return 0;
        }
        if !crate::keys::valid_id(&a.gen_keys) {
            let _ = writeln!(err, "Error: invalid key name {:?}", a.gen_keys);
            return 0;
        }
        if let Err(e) = brine_core::wire::keys::gen_keys(dir, &a.gen_keys, a.keysize) {
            let _ = writeln!(err, "Error: {e}");
            return 0;
        }
        let text = std::fs::read_to_string(dir.join(format!("{}.pub", a.gen_keys)))
            .map(|t| file_finger(&t))
            .unwrap_or_default();
        let flags = OutFlags {
            out: a.out_flags.out.clone().filter(|o| o != "key"),
            ..a.out_flags.clone()
        };
        let data = Value::Map(Map::from_iter([(k("return"), Value::str(text))]));
        let _ = write!(out, "{}", flags.render(&data, "nested"));
        return 0;
    }
    let opts = match load_opts(Path::new(&a.config_dir)) {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(err, "Error: {e}");
            return 1;
        }
    };
    let ctx = Ctx {
        store: KeyStore::open(&opt_path(&opts, "pki_dir", "/etc/salt/pki/master")),
        cachedir: opt_path(&opts, "cachedir", "/var/cache/salt/master"),
        opts: &opts,
    };
    let flags = OutFlags {
        out: a.out_flags.out.clone().filter(|o| o != "key"),
        ..a.out_flags.clone()
    };
    let display = |ret: &Ret| -> String {
        if flags.out.is_some() {
            flags.render(&ret_to_value(ret), "nested")
        } else {
            let text = key_output(ret, flags.color());
            let text = text.trim_end();
            if text.is_empty() {
                String::new()
            } else {
                format!("{text}\n")
            }
        }
    };
    // Salt's command precedence (KeyCLI._update_opts).
    let cmds: [(&str, bool, &str); 13] = [
        ("list", !a.list.is_empty(), a.list.as_str()),
        ("list_all", a.list_all, "all"),
        ("print", !a.print.is_empty(), a.print.as_str()),
        ("print_all", a.print_all, "*"),
        ("accept", !a.accept.is_empty(), a.accept.as_str()),
        ("accept_all", a.accept_all, "*"),
        ("reject", !a.reject.is_empty(), a.reject.as_str()),
        ("reject_all", a.reject_all, "*"),
        ("delete", !a.delete.is_empty(), a.delete.as_str()),
        ("delete_all", a.delete_all, "*"),
        ("finger", !a.finger.is_empty(), a.finger.as_str()),
        ("finger_all", a.finger_all, "*"),
        ("list_all", true, "all"),
    ];
    let (cmd, _, pat) = cmds.iter().find(|c| c.1).copied().unwrap_or(cmds[12]);
    let pat = pat.to_string();
    let fun = cmd.trim_end_matches("_all");
    let (mut inc_acc, mut inc_rej, inc_den) =
        (a.include_accepted, a.include_rejected, a.include_denied);
    if fun == "accept" {
        inc_rej = a.include_all || a.include_rejected;
        inc_acc = false;
    } else if fun == "reject" {
        inc_acc = a.include_all || a.include_accepted;
        inc_rej = false;
    }
    let rotate = py_bool_str(&a.rotate_aes_key, true)
        && opts
            .get(&k("rotate_aes_key"))
            .map(Value::truthy)
            .unwrap_or(true);
    let preserve_minions = py_bool_str(&a.preserve_minions, false);

    match fun {
        "list" => {
            let ret = if pat.starts_with("all") {
                ctx.list_keys()
            } else {
                let d = if pat.starts_with("acc") {
                    ACC
                } else if pat.starts_with("pre") || pat.starts_with("un") {
                    PEND
                } else if pat.starts_with("rej") {
                    REJ
                } else {
                    DEN
                };
                ctx.list_keys()
                    .into_iter()
                    .filter(|(s, _)| s == d)
                    .collect()
            };
            let _ = write!(out, "{}", display(&as_ret(ret)));
            0
        }
        "finger" | "print" => {
            let full = fun == "finger";
            let mut ret: Ret = Vec::new();
            for (status, ids) in ctx.name_match(&pat, full) {
                let mut items = Vec::new();
                for id in ids {
                    let text = if status == "local" {
                        ctx.store.local_key_text(&id)
                    } else {
                        ctx.read_key(&status, &id)
                    };
                    let text = text.unwrap_or_default();
                    let v = if full {
                        if text.is_empty() {
                            String::new()
                        } else {
                            file_finger(&text)
                        }
                    } else {
                        text
                    };
                    items.push((id, Some(v)));
                }
                ret.push((status, items));
            }
            let _ = write!(out, "{}", display(&ret));
            0
        }
        _ => {
            let matched = ctx.name_match(&pat, false);
            let matched: Vec<(String, Vec<String>)> = if fun == "delete" {
                matched
            } else {
                let get = |d: &str| matched.iter().find(|(s, _)| s == d).cloned();
                let mut f = Vec::new();
                f.extend(get(PEND));
                if inc_acc {
                    f.extend(get(ACC));
                }
                if inc_rej {
                    f.extend(get(REJ));
                }
                if inc_den {
                    f.extend(get(DEN));
                }
                f
            };
            if matched.is_empty() {
                let mut st = vec!["unaccepted"];
                if inc_acc {
                    st.push("accepted");
                }
                if inc_rej {
                    st.push("rejected");
                }
                if inc_den {
                    st.push("denied");
                }
                let stat_str = if st.len() == 1 {
                    st[0].to_string()
                } else {
                    format!("{} or {}", st[..st.len() - 1].join(", "), st[st.len() - 1])
                };
                let _ = writeln!(
                    out,
                    "The key glob '{pat}' does not match any {stat_str} keys."
                );
                return 0;
            }
            let verb = fun.trim_end_matches('e');
            let _ = writeln!(out, "The following keys are going to be {verb}ed:");
            let _ = write!(out, "{}", display(&as_ret(matched.clone())));
            if !a.yes {
                let (prompt, default) = if fun == "delete" {
                    ("Proceed? [N/y] ", "n")
                } else {
                    ("Proceed? [n/Y] ", "y")
                };
                let _ = write!(out, "{prompt}");
                let _ = out.flush();
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = writeln!(err, "Error: EOF when reading a line");
                        return 0;
                    }
                    Ok(_) => {}
                }
                let ans = line.trim_end_matches(['\n', '\r']);
                let ans = if ans.is_empty() { default } else { ans };
                if !ans.to_lowercase().starts_with('y') {
                    return 0;
                }
            }
            let shown = match fun {
                "accept" => {
                    let mut dirs = vec![PEND];
                    if inc_rej {
                        dirs.push(REJ);
                    }
                    if inc_den {
                        dirs.push(DEN);
                    }
                    let mut matches = matched.clone();
                    let mut invalid: Vec<String> = Vec::new();
                    for d in dirs {
                        let Some((_, ids)) = matches.iter_mut().find(|(s, _)| s == d) else {
                            continue;
                        };
                        let mut keep = Vec::new();
                        for id in ids.drain(..) {
                            let Some(src) = ctx.path(d, &id) else {
                                continue;
                            };
                            let valid = ctx
                                .read_key(d, &id)
                                .is_some_and(|t| PublicKey::from_pem(&t).is_ok());
                            if !valid {
                                // Salt logs this (console level error), and
                                // writes the message after the loop.
                                let _ = writeln!(err, "[ERROR   ] Invalid RSA public key: {id}");
                                invalid.push(id);
                                continue;
                            }
                            if let Some(dst) = ctx.path(ACC, &id) {
                                let _ = std::fs::rename(&src, dst);
                            }
                            keep.push(id);
                        }
                        *ids = keep;
                    }
                    for id in invalid {
                        let _ = writeln!(err, "Unable to accept invalid key for {id}.");
                    }
                    ctx.dict_match(&matches)
                }
                "reject" => {
                    let mut dirs = vec![PEND];
                    if inc_acc {
                        dirs.push(ACC);
                    }
                    if inc_den {
                        dirs.push(DEN);
                    }
                    for d in dirs {
                        for (_, ids) in matched.iter().filter(|(s, _)| s == d) {
                            for id in ids {
                                if let (Some(src), Some(dst)) = (ctx.path(d, id), ctx.path(REJ, id))
                                {
                                    let _ = std::fs::rename(src, dst);
                                }
                            }
                        }
                    }
                    ctx.check_minion_cache(&[]);
                    if rotate {
                        drop_rotate_marker(&ctx.cachedir);
                    }
                    ctx.dict_match(&matched)
                }
                _ => {
                    for (status, ids) in &matched {
                        for id in ids {
                            if let Some(p) = ctx.path(status, id) {
                                let _ = std::fs::remove_file(p);
                            }
                        }
                    }
                    let preserve: Vec<String> = if preserve_minions {
                        matched
                            .iter()
                            .filter(|(s, _)| s == ACC)
                            .flat_map(|(_, l)| l.clone())
                            .collect()
                    } else {
                        Vec::new()
                    };
                    ctx.check_minion_cache(&preserve);
                    if rotate {
                        drop_rotate_marker(&ctx.cachedir);
                    }
                    matched
                }
            };
            for (_, ids) in &shown {
                for id in ids {
                    let _ = writeln!(out, "Key for minion {id} {verb}ed.");
                }
            }
            0
        }
    }
}

/// The `brine-key` binary's body.
pub fn main() -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let stdin = std::io::stdin();
    run(
        std::env::args_os(),
        &mut stdout.lock(),
        &mut stderr.lock(),
        &mut stdin.lock(),
    )
}
