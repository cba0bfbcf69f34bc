//! `cmd` (salt/modules/cmdmod.py): run, run_stdout, run_stderr, run_all,
//! retcode, shell, script, script_retcode, which, has_exec. As in Salt,
//! `python_shell` defaults to false for `cmd.run` & co (the command is split
//! like `shlex.split` and executed directly) unless a `shell` is given, and
//! is always true for `cmd.shell`; the retcode lands in
//! `__context__["retcode"]`. Supports cwd, env (dict or list of dicts),
//! runas (login environment from `su -`, then setgroups/setgid/setuid),
//! umask, stdin, timeout (kills the process group), prepend_path,
//! success_retcodes/stdout/stderr, hide_output, template (jinja).

use super::{bind, is_true, Bound, Context, ModFn};
use brine_core::fileclient::FileClient;
use brine_core::output::pyrepr::{self, str_of};
use brine_core::value::{Map, Value};
use std::io::{Read, Write};
use std::process::{Command, Stdio};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("run", run),
    ("run_stdout", run_stdout),
    ("run_stderr", run_stderr),
    ("run_all", run_all),
    ("retcode", retcode),
    ("shell", shell),
    ("script", script),
    ("script_retcode", script_retcode),
    ("which", which),
    ("has_exec", has_exec),
];

/// `cmd.run`'s parameters, in Salt's order (for positional binding).
const RUN_PARAMS: &[&str] = &[
    "cmd",
    "cwd",
    "stdin",
    "runas",
    "group",
    "shell",
    "python_shell",
    "env",
    "clean_env",
    "template",
    "rstrip",
    "umask",
    "output_encoding",
    "output_loglevel",
    "log_callback",
    "hide_output",
    "timeout",
    "reset_system_locale",
    "ignore_retcode",
    "saltenv",
    "use_vt",
    "redirect_stderr",
    "bg",
    "password",
    "encoded_cmd",
    "raise_err",
    "prepend_path",
    "success_retcodes",
    "success_stdout",
    "success_stderr",
];

/// `cmd.shell`'s parameters.
const SHELL_PARAMS: &[&str] = &[
    "cmd",
    "cwd",
    "stdin",
    "runas",
    "group",
    "shell",
    "env",
    "clean_env",
    "template",
    "rstrip",
    "umask",
    "output_encoding",
    "output_loglevel",
    "log_callback",
    "hide_output",
    "timeout",
    "reset_system_locale",
    "ignore_retcode",
    "saltenv",
    "use_vt",
    "bg",
    "password",
    "prepend_path",
    "success_retcodes",
    "success_stdout",
    "success_stderr",
];

/// `cmd.run_stdout`'s and `cmd.run_stderr`'s parameters.
const STDOUT_PARAMS: &[&str] = &[
    "cmd",
    "cwd",
    "stdin",
    "runas",
    "group",
    "shell",
    "python_shell",
    "env",
    "clean_env",
    "template",
    "rstrip",
    "umask",
    "output_encoding",
    "output_loglevel",
    "log_callback",
    "hide_output",
    "timeout",
    "reset_system_locale",
    "ignore_retcode",
    "saltenv",
    "use_vt",
    "password",
    "prepend_path",
    "success_retcodes",
    "success_stdout",
    "success_stderr",
];

/// `cmd.run_all`'s parameters.
const RUN_ALL_PARAMS: &[&str] = &[
    "cmd",
    "cwd",
    "stdin",
    "runas",
    "group",
    "shell",
    "python_shell",
    "env",
    "clean_env",
    "template",
    "rstrip",
    "umask",
    "output_encoding",
    "output_loglevel",
    "log_callback",
    "hide_output",
    "timeout",
    "reset_system_locale",
    "ignore_retcode",
    "saltenv",
    "use_vt",
    "redirect_stderr",
    "password",
    "encoded_cmd",
    "prepend_path",
    "success_retcodes",
    "success_stdout",
    "success_stderr",
];

/// `cmd.retcode`'s parameters.
const RETCODE_PARAMS: &[&str] = &[
    "cmd",
    "cwd",
    "stdin",
    "runas",
    "group",
    "shell",
    "python_shell",
    "env",
    "clean_env",
    "template",
    "umask",
    "output_encoding",
    "output_loglevel",
    "log_callback",
    "timeout",
    "reset_system_locale",
    "ignore_retcode",
    "saltenv",
    "use_vt",
    "password",
    "success_retcodes",
    "success_stdout",
    "success_stderr",
];

/// `cmd.script`'s parameters.
const SCRIPT_PARAMS: &[&str] = &[
    "source",
    "args",
    "cwd",
    "stdin",
    "runas",
    "group",
    "shell",
    "python_shell",
    "env",
    "template",
    "umask",
    "output_encoding",
    "output_loglevel",
    "log_callback",
    "hide_output",
    "timeout",
    "reset_system_locale",
    "saltenv",
    "use_vt",
    "bg",
    "password",
    "success_retcodes",
    "success_stdout",
    "success_stderr",
];

/// `cmd.script_retcode`'s parameters.
const SCRIPT_RETCODE_PARAMS: &[&str] = &[
    "source",
    "args",
    "cwd",
    "stdin",
    "runas",
    "group",
    "shell",
    "python_shell",
    "env",
    "template",
    "umask",
    "timeout",
    "reset_system_locale",
    "saltenv",
    "output_encoding",
    "output_loglevel",
    "log_callback",
    "use_vt",
    "password",
    "success_retcodes",
    "success_stdout",
    "success_stderr",
];

const LOCALE_VARS: &[&str] = &[
    "LC_CTYPE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
    "LC_MONETARY",
    "LC_MESSAGES",
    "LC_PAPER",
    "LC_NAME",
    "LC_ADDRESS",
    "LC_TELEPHONE",
    "LC_MEASUREMENT",
    "LC_IDENTIFICATION",
    "LANGUAGE",
];

extern "C" {
    /// The process environment (POSIX `environ`).
    static mut environ: *const *const libc::c_char;
}

/// What a command run produced.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub pid: u32,
    pub retcode: i32,
    pub stdout: String,
    pub stderr: String,
    /// Killed by `timeout` (Salt then orders the dict stdout, stderr,
    /// retcode, pid).
    pub timed_out: bool,
}

impl RunResult {
    /// `cmd.run_all`'s dict.
    pub fn to_map(&self) -> Map {
        let mut m = Map::default();
        let pid = ("pid", Value::Int(self.pid as i128));
        let rc = ("retcode", Value::Int(self.retcode as i128));
        let out = ("stdout", Value::Str(self.stdout.clone()));
        let err = ("stderr", Value::Str(self.stderr.clone()));
        let order = if self.timed_out {
            [out, err, rc, pid]
        } else {
            [pid, rc, out, err]
        };
        for (k, v) in order {
            m.insert(Value::from(k), v);
        }
        m
    }
}
/// Python's `shlex.split` (POSIX mode, no comments).
pub fn shlex_split(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Python's shlex (posix mode) splits on these four only.
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => return Err("No escaped character".into()),
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\')) => cur.push(n),
                            Some(n) => {
                                cur.push('\\');
                                cur.push(n);
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(n) => cur.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Python's `str.rstrip()`.
fn py_rstrip(s: &str) -> String {
    s.trim_end_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
        .to_string()
}

/// `_log_cmd`: the first word of the command, for log lines.
fn log_cmd(cmd: &str) -> &str {
    cmd.split_whitespace().next().unwrap_or(cmd)
}

/// Bound arguments of one function, looked up by Salt's parameter name
/// (names outside the signature come from `**kwargs`).
struct Args {
    names: &'static [&'static str],
    b: Bound,
}

impl Args {
    fn bind(
        fun: &str,
        names: &'static [&'static str],
        args: Vec<Value>,
        kwargs: Map,
    ) -> Result<Args, String> {
        let b = bind(fun, names, 1, false, true, args, kwargs)?;
        Ok(Args { names, b })
    }
    fn v(&self, name: &str) -> Option<&Value> {
        match self.names.iter().position(|n| *n == name) {
            Some(i) => self.b.opt(i),
            None => self
                .b
                .kwargs
                .get(&Value::from(name))
                .filter(|v| !v.is_null()),
        }
    }
    fn s(&self, name: &str) -> Option<String> {
        self.v(name).map(str_of)
    }
    fn flag(&self, name: &str, default: bool) -> bool {
        self.v(name).map(Value::truthy).unwrap_or(default)
    }
}

/// How one command is to be run (`cmdmod._run`'s arguments).
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// A string (split like `shlex.split` unless `python_shell`) or a list
    /// (an argv).
    pub cmd: Value,
    pub cwd: Option<String>,
    pub stdin: Option<String>,
    pub runas: Option<String>,
    pub shell: Option<String>,
    pub python_shell: bool,
    pub env: Vec<(String, String)>,
    pub clean_env: bool,
    /// Render `cmd` and `cwd` through this template engine first.
    pub template: Option<String>,
    pub saltenv: Option<String>,
    pub rstrip: bool,
    pub umask: Option<u32>,
    /// Seconds (the original value, for Salt's message).
    pub timeout: Option<Value>,
    pub reset_system_locale: bool,
    pub ignore_retcode: bool,
    pub redirect_stderr: bool,
    pub prepend_path: Option<String>,
    pub success_retcodes: Vec<i128>,
    pub success_stdout: Vec<String>,
    pub success_stderr: Vec<String>,
    pub quiet: bool,
    pub hide_output: bool,
}

/// `cmdmod._parse_env`: a dict, a list of one-key dicts, anything else {};
/// `None` values become "" (with Salt's error log).
fn parse_env(v: Option<&Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |k: &Value, v: &Value| {
        let key = str_of(k);
        let val = if v.is_null() {
            tracing::error!(
                "Environment variable '{key}' passed without a value. Setting value to an empty string"
            );
            String::new()
        } else {
            str_of(v)
        };
        out.retain(|(k2, _)| *k2 != key);
        out.push((key, val));
    };
    match v {
        Some(Value::Map(m)) => m.iter().for_each(|(k, v)| add(k, v)),
        Some(Value::List(l)) => {
            for item in l {
                match item {
                    Value::Map(m) => m.iter().for_each(|(k, v)| add(k, v)),
                    other => add(other, &Value::Null),
                }
            }
        }
        _ => {}
    }
    out
}

/// `salt.utils.args.split_input`: a list as is, a string split on commas.
fn split_input(v: &Value) -> Vec<Value> {
    match v {
        Value::List(l) => l.clone(),
        Value::Str(s) => s.split(',').map(|p| Value::from(p.trim())).collect(),
        other => vec![other.clone()],
    }
}

/// The umask argument: octal digits, zero refused.
fn parse_umask(v: &Value) -> Result<u32, String> {
    let raw = str_of(v);
    let digits = raw.trim_start_matches('0');
    if digits.is_empty() {
        return Err("Zero umask is not allowed.".into());
    }
    u32::from_str_radix(digits, 8).map_err(|_| format!("Invalid umask: '{raw}'"))
}

/// Build a [`Spec`] from bound arguments. `force_shell`: `cmd.shell`.
fn spec(a: &Args, force_shell: bool, redirect_default: bool) -> Result<Spec, String> {
    let shell = a.s("shell").filter(|s| !s.is_empty());
    let python_shell = if force_shell {
        true
    } else {
        match a.v("python_shell") {
            Some(v) => v.truthy(),
            None => shell.is_some(),
        }
    };
    let loglevel = a.s("output_loglevel").unwrap_or_default().to_lowercase();
    let success_retcodes = match a.v("success_retcodes") {
        None => vec![0],
        Some(v) => split_input(v)
            .iter()
            .map(|i| match i {
                Value::Int(n) => Ok(*n),
                other => str_of(other).trim().parse::<i128>().map_err(|_| ()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| super::invalid_args("success_retcodes must be a list of integers"))?,
    };
    let strs = |name: &str| -> Vec<String> {
        a.v(name)
            .map(|v| split_input(v).iter().map(str_of).collect())
            .unwrap_or_default()
    };
    let timeout = match a.v("timeout") {
        None => None,
        Some(v @ (Value::Int(_) | Value::Float(_))) => Some(v.clone()).filter(Value::truthy),
        Some(v) if !v.truthy() => None,
        Some(v) => return Err(format!("Error: timeout {} must be a number", str_of(v))),
    };
    let mut stdin = a.s("stdin");
    if !a.flag("stdin_raw_newlines", false) {
        stdin = stdin.map(|s| s.replace("\\n", "\n"));
    }
    Ok(Spec {
        cmd: a.v("cmd").or(a.v("source")).cloned().unwrap_or(Value::Null),
        cwd: a.s("cwd"),
        stdin,
        runas: a.s("runas").filter(|s| !s.is_empty()),
        shell,
        python_shell,
        env: parse_env(a.v("env")),
        clean_env: a.v("clean_env").is_some_and(is_true),
        template: a.s("template"),
        saltenv: a.s("saltenv"),
        rstrip: a.flag("rstrip", true),
        umask: a.v("umask").map(parse_umask).transpose()?,
        timeout,
        reset_system_locale: a.flag("reset_system_locale", true),
        ignore_retcode: a.flag("ignore_retcode", false),
        redirect_stderr: a.flag("redirect_stderr", redirect_default),
        prepend_path: a.s("prepend_path"),
        success_retcodes,
        success_stdout: strs("success_stdout"),
        success_stderr: strs("success_stderr"),
        quiet: matches!(loglevel.as_str(), "quiet" | "none"),
        hide_output: a.flag("hide_output", false),
    })
}

/// A user's ids, home and groups (for `runas`).
struct RunasUser {
    uid: u32,
    gid: u32,
    home: String,
    groups: Vec<libc::gid_t>,
}

fn lookup_user(name: &str) -> Option<RunasUser> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: zeroed passwd is a valid out-parameter for getpwnam_r.
    let mut ent: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and sizes match.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut ent,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        )
    };
    if rc != 0 || out.is_null() {
        return None;
    }
    // SAFETY: NSS filled pw_dir with a NUL-terminated string in `buf`.
    let home = unsafe { std::ffi::CStr::from_ptr(ent.pw_dir) }
        .to_string_lossy()
        .into_owned();
    let mut groups: Vec<libc::gid_t> = vec![0; 256];
    let mut n: libc::c_int = groups.len() as libc::c_int;
    // SAFETY: `groups` has room for `n` entries.
    let rc = unsafe { libc::getgrouplist(cname.as_ptr(), ent.pw_gid, groups.as_mut_ptr(), &mut n) };
    if rc < 0 {
        groups.resize(n.max(0) as usize, 0);
        // SAFETY: as above, with the size getgrouplist asked for.
        unsafe {
            libc::getgrouplist(cname.as_ptr(), ent.pw_gid, groups.as_mut_ptr(), &mut n);
        }
    }
    groups.truncate(n.max(0) as usize);
    Some(RunasUser {
        uid: ent.pw_uid,
        gid: ent.pw_gid,
        home,
        groups,
    })
}

/// The login environment of `runas` (Salt asks `su - USER` for it).
fn runas_env(runas: &str, shell: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let mut cmd = Command::new("su");
    if let Some(sh) = shell {
        cmd.args(["-s", sh]);
    }
    let out = cmd
        .args([
            "-",
            runas,
            "-c",
            "printf '<<<M>>>'; env -0; printf '<<<M>>>'",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("Environment could not be retrieved for user '{runas}': {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let parts: Vec<&str> = text.split("<<<M>>>").collect();
    let body = match parts.len() {
        // Possibly PAM (or a nologin shell) refused: Salt goes on with an
        // empty environment.
        1 => {
            tracing::error!(
                "Environment could not be retrieved for user '{runas}': stderr={:?} stdout={:?}",
                String::from_utf8_lossy(&out.stderr),
                text
            );
            ""
        }
        3 => parts[1],
        _ => {
            return Err(format!(
                "Environment could not be retrieved for user '{runas}'"
            ))
        }
    };
    Ok(body
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// Python's list repr of an argv.
fn argv_repr(argv: &[String]) -> String {
    pyrepr::repr(&Value::List(
        argv.iter().map(|a| Value::from(a.as_str())).collect(),
    ))
}

/// `cmdmod._render_cmd`: render `cmd` and `cwd` through `template`.
fn render_cmd(ctx: &Context, s: &mut Spec) -> Result<(), String> {
    let Some(engine) = s.template.clone() else {
        return Ok(());
    };
    if engine != "jinja" {
        return Err(format!(
            "Attempted to render file paths with unavailable engine {engine}"
        ));
    }
    let saltenv = s.saltenv.clone().unwrap_or_else(|| "base".into());
    let client = ctx.file_client(&ctx.opts);
    let pillar = ctx.pillar();
    let rctx = brine_core::render::RenderContext {
        opts: &ctx.opts,
        grains: ctx.grains(),
        pillar: &pillar,
        saltenv: &saltenv,
        sls: "",
        functions: ctx,
        file_client: &*client,
        extra: Map::default(),
    };
    let render = |text: &str| {
        brine_core::render::render_template(text, "<cmd>", &rctx).map_err(|e| e.message)
    };
    if let Value::Str(c) = &s.cmd {
        s.cmd = Value::Str(render(c)?);
    }
    if let Some(cwd) = &s.cwd {
        s.cwd = Some(render(cwd)?);
    }
    Ok(())
}

/// The repr of the keyword arguments Salt hands `subprocess.Popen` (part
/// of its "Unable to run command" message).
fn popen_context(s: &Spec, cwd: &str, run_env: &[(String, String)]) -> String {
    let mut m = Map::default();
    let mut put = |k: &str, v: Value| {
        m.insert(Value::from(k), v);
    };
    put("cwd", Value::from(cwd));
    put("shell", Value::Bool(s.python_shell));
    let mut env = Map::default();
    for (k, v) in run_env {
        env.insert(Value::from(k.as_str()), Value::from(v.as_str()));
    }
    put("env", Value::Map(env));
    put(
        "stdin",
        s.stdin.clone().map(Value::Str).unwrap_or(Value::Null),
    );
    put("stdout", Value::Int(-1));
    put(
        "stderr",
        Value::Int(if s.redirect_stderr { -2 } else { -1 }),
    );
    put("with_communicate", Value::Bool(true));
    put("timeout", s.timeout.clone().unwrap_or(Value::Null));
    put("bg", Value::Bool(false));
    let mut text = pyrepr::repr(&Value::Map(m));
    text.pop();
    if s.runas.is_some() || s.umask.is_some() {
        text.push_str(", 'preexec_fn': functools.partial(<function chugid_and_umask>)");
    }
    if s.python_shell {
        let exe = s.shell.clone().map(Value::Str).unwrap_or(Value::Null);
        text.push_str(&format!(", 'executable': {}", pyrepr::repr(&exe)));
    }
    text.push_str(", 'close_fds': True}");
    text
}

/// `cmdmod._run`: run one command as `s` says; the retcode (after
/// `success_*`) lands in `__context__["retcode"]`.
pub fn execute(ctx: &Context, s: &Spec) -> Result<RunResult, String> {
    let mut s = s.clone();
    render_cmd(ctx, &mut s)?;
    let user = match &s.runas {
        Some(r) => Some(lookup_user(r).ok_or_else(|| format!("User '{r}' is not available"))?),
        None => None,
    };
    let cwd = match (&s.cwd, &user) {
        (Some(c), _) => c.clone(),
        (None, Some(u)) => u.home.clone(),
        (None, None) => std::env::var("HOME").unwrap_or_else(|_| "/".into()),
    };
    let cwd = if s.cwd.is_none() && std::fs::read_dir(&cwd).is_err() {
        "/".to_string()
    } else {
        cwd
    };
    if !cwd.starts_with('/') || !std::path::Path::new(&cwd).is_dir() {
        return Err(format!(
            "Specified cwd '{cwd}' either not absolute or does not exist"
        ));
    }
    // The environment: the runas user's login env, the `env` argument,
    // the C locale, over the minion's own unless `clean_env`.
    let set = |env: &mut Vec<(String, String)>, k: &str, v: String| match env
        .iter_mut()
        .find(|(k2, _)| k2 == k)
    {
        Some(slot) => slot.1 = v,
        None => env.push((k.to_string(), v)),
    };
    let mut env: Vec<(String, String)>;
    if let (Some(r), Some(u)) = (&s.runas, &user) {
        env = runas_env(r, s.shell.as_deref())?;
        for (k, v) in &s.env {
            set(&mut env, k, v.clone());
        }
        set(&mut env, "USER", r.clone());
        set(&mut env, "HOME", u.home.clone());
    } else {
        env = s.env.clone();
    }
    if s.reset_system_locale {
        for var in LOCALE_VARS {
            if !env.iter().any(|(k, _)| k == var) {
                env.push((var.to_string(), "C".into()));
            }
        }
    }
    let mut run_env: Vec<(String, String)> = if s.clean_env {
        Vec::new()
    } else {
        std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect()
    };
    for (k, v) in &env {
        set(&mut run_env, k, v.clone());
    }
    if let Some(p) = &s.prepend_path {
        let path = run_env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        set(&mut run_env, "PATH", format!("{p}:{path}"));
    }
    if !s.env.iter().any(|(k, _)| k == "NOTIFY_SOCKET") {
        run_env.retain(|(k, _)| k != "NOTIFY_SOCKET");
    }

    let argv: Vec<String> = match &s.cmd {
        Value::List(l) => l.iter().map(str_of).collect(),
        Value::Str(c) if !s.python_shell => shlex_split(c)?,
        other => vec![str_of(other)],
    };
    // What Salt's TimedProc calls the command (timeout message).
    let command_text = match &s.cmd {
        Value::Str(c) if s.python_shell => c.clone(),
        _ => argv_repr(&argv),
    };
    let mut command = if s.python_shell {
        // subprocess.Popen(args, shell=True, executable=shell): argv[0] is
        // the executable.
        let mut c = Command::new(s.shell.clone().unwrap_or_else(|| "/bin/sh".into()));
        c.arg("-c").args(&argv);
        c
    } else {
        let Some((prog, rest)) = argv.split_first() else {
            return Err(format!(
                "Unable to run command '{}' with the context '{{'cwd': '{cwd}', 'shell': False}}', reason: empty command",
                str_of(&s.cmd)
            ));
        };
        let mut c = Command::new(prog);
        c.args(rest);
        c
    };
    let context_repr = popen_context(&s, &cwd, &run_env);
    command.current_dir(&cwd);
    // The child's environment, in Python's dict order (std's Command would
    // sort it): installed as `environ` between fork and exec.
    let env_strings: Vec<std::ffi::CString> = run_env
        .iter()
        .filter_map(|(k, v)| std::ffi::CString::new(format!("{k}={v}")).ok())
        .collect();
    let mut env_ptrs: Vec<usize> = env_strings.iter().map(|c| c.as_ptr() as usize).collect();
    env_ptrs.push(0);
    {
        use std::os::unix::process::CommandExt;
        let new_group = s.timeout.is_some();
        let umask = s.umask;
        // SAFETY: geteuid is async-signal-safe; only ids are copied in.
        let switch = user
            .as_ref()
            .filter(|u| u.uid != unsafe { libc::geteuid() })
            .map(|u| (u.uid, u.gid, u.groups.clone()));
        // SAFETY: the closure only assigns `environ` (to strings prepared
        // before the fork and owned by the closure) and calls
        // async-signal-safe libc functions (setpgid, umask, setgroups,
        // setgid, setuid) on data prepared before the fork.
        unsafe {
            command.pre_exec(move || {
                // Keep the strings alive as long as the closure.
                let _ = &env_strings;
                environ = env_ptrs.as_ptr() as *const *const libc::c_char;
                if new_group && libc::setpgid(0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some(m) = umask {
                    libc::umask(m as libc::mode_t);
                }
                if let Some((uid, gid, groups)) = &switch {
                    if libc::setgroups(groups.len() as _, groups.as_ptr()) != 0
                        || libc::setgid(*gid) != 0
                        || libc::setuid(*uid) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
    command.stdin(if s.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let (mut reader, writer) =
        std::io::pipe().map_err(|e| format!("Unable to create a pipe: {e}"))?;
    let (mut err_reader, err_writer) =
        std::io::pipe().map_err(|e| format!("Unable to create a pipe: {e}"))?;
    if s.redirect_stderr {
        let w2 = writer
            .try_clone()
            .map_err(|e| format!("Unable to create a pipe: {e}"))?;
        command.stdout(writer).stderr(w2);
        drop(err_writer);
    } else {
        command.stdout(writer).stderr(err_writer);
    }
    let mut child = command.spawn().map_err(|e| {
        let shown = match &s.cmd {
            Value::Str(c) if s.python_shell => c.clone(),
            Value::Str(_) | Value::List(_) => argv_repr(&argv),
            other => str_of(other),
        };
        let prog = argv.first().cloned().unwrap_or_default();
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("[Errno 2] No such file or directory: '{prog}'")
            }
            std::io::ErrorKind::PermissionDenied => {
                format!("[Errno 13] Permission denied: '{prog}'")
            }
            _ => e.to_string(),
        };
        format!(
            "Unable to run command '{shown}' with the context '{context_repr}', reason: {reason}"
        )
    })?;
    // The Command keeps the write ends until dropped.
    drop(command);
    let pid = child.id();
    if let (Some(input), Some(mut stdin)) = (&s.stdin, child.stdin.take()) {
        let input = input.clone();
        std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
    }
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_reader.read_to_end(&mut buf);
        buf
    });
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = reader.read_to_end(&mut buf);
        buf
    });
    if let Some(t) = &s.timeout {
        let secs = match t {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            _ => 0.0,
        };
        let deadline =
            std::time::Instant::now() + std::time::Duration::from_secs_f64(secs.max(0.0));
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if std::time::Instant::now() >= deadline => {
                    // SAFETY: kill(2) on the group this child leads.
                    unsafe {
                        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
                    }
                    let _ = child.wait();
                    return Ok(RunResult {
                        pid,
                        retcode: 1,
                        stdout: format!(
                            "{command_text} : Timed out after {} seconds",
                            pyrepr::repr(t)
                        ),
                        stderr: String::new(),
                        timed_out: true,
                    });
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
                Err(e) => return Err(format!("Unable to wait for command: {e}")),
            }
        }
    }
    let out = out_thread.join().unwrap_or_default();
    let err = err_thread.join().unwrap_or_default();
    let status = child
        .wait()
        .map_err(|e| format!("Unable to wait for command: {e}"))?;
    let mut retcode = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        status.signal().map(|s| -s).unwrap_or(1)
    });
    let mut stdout = String::from_utf8_lossy(&out).into_owned();
    let mut stderr = String::from_utf8_lossy(&err).into_owned();
    if s.rstrip {
        stdout = py_rstrip(&stdout);
        stderr = py_rstrip(&stderr);
    }
    if s.success_retcodes.contains(&(retcode as i128)) {
        retcode = 0;
    }
    if s.success_stdout.iter().any(|x| stdout.contains(x.as_str()))
        || s.success_stderr.iter().any(|x| stderr.contains(x.as_str()))
    {
        retcode = 0;
    }
    ctx.set_retcode(if s.ignore_retcode { 0 } else { retcode });
    let shown = match &s.cmd {
        Value::Str(c) => c.clone(),
        _ => argv.join(" "),
    };
    if retcode != 0 && !s.ignore_retcode && !s.quiet {
        tracing::error!(
            "Command '{}' failed with return code: {}",
            log_cmd(&shown),
            retcode
        );
        if !stdout.is_empty() {
            tracing::error!("stdout: {}", stdout);
        }
        if !stderr.is_empty() {
            tracing::error!("stderr: {}", stderr);
        }
        tracing::error!("retcode: {}", retcode);
    }
    Ok(RunResult {
        pid,
        retcode,
        stdout,
        stderr,
        timed_out: false,
    })
}

/// `cmd.run`/`cmd.shell` log the failure once more with the output.
fn log_failure(s: &Spec, r: &RunResult) {
    if r.retcode != 0 && !s.ignore_retcode && !s.quiet {
        tracing::error!(
            "Command '{}' failed with return code: {}",
            log_cmd(&str_of(&s.cmd)),
            r.retcode
        );
        tracing::error!("output: {}", if s.hide_output { "" } else { &r.stdout });
    }
}

fn run(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let a = Args::bind("cmd.run", RUN_PARAMS, args, kwargs)?;
    let s = spec(&a, false, true)?;
    let r = execute(ctx, &s)?;
    log_failure(&s, &r);
    Ok(Value::Str(if s.hide_output {
        String::new()
    } else {
        r.stdout
    }))
}

fn shell(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let a = Args::bind("cmd.shell", SHELL_PARAMS, args, kwargs)?;
    let mut s = spec(&a, true, true)?;
    if s.shell.is_none() {
        s.shell = Some(std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into()));
    }
    let r = execute(ctx, &s)?;
    log_failure(&s, &r);
    Ok(Value::Str(if s.hide_output {
        String::new()
    } else {
        r.stdout
    }))
}

fn run_stdout(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let a = Args::bind("cmd.run_stdout", STDOUT_PARAMS, args, kwargs)?;
    let s = spec(&a, false, false)?;
    let r = execute(ctx, &s)?;
    Ok(Value::Str(if s.hide_output {
        String::new()
    } else {
        r.stdout
    }))
}

fn run_stderr(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let a = Args::bind("cmd.run_stderr", STDOUT_PARAMS, args, kwargs)?;
    let s = spec(&a, false, false)?;
    let r = execute(ctx, &s)?;
    Ok(Value::Str(if s.hide_output {
        String::new()
    } else {
        r.stderr
    }))
}

/// `cmd.run_all` (public: the `cmd` states call it).
pub fn run_all(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let a = Args::bind("cmd.run_all", RUN_ALL_PARAMS, args, kwargs)?;
    let s = spec(&a, false, false)?;
    let mut r = execute(ctx, &s)?;
    if s.hide_output {
        r.stdout.clear();
        r.stderr.clear();
    }
    Ok(Value::Map(r.to_map()))
}

fn retcode(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let a = Args::bind("cmd.retcode", RETCODE_PARAMS, args, kwargs)?;
    // Salt runs it with stderr=STDOUT.
    let mut s = spec(&a, false, true)?;
    s.redirect_stderr = true;
    let r = execute(ctx, &s)?;
    Ok(Value::Int(r.retcode as i128))
}

/// The dict `cmd.script` returns when the source cannot be fetched.
fn cache_error() -> Value {
    let mut m = RunResult {
        retcode: 1,
        ..Default::default()
    }
    .to_map();
    m.insert(Value::from("cache_error"), Value::Bool(true));
    Value::Map(m)
}

/// `salt.utils.url.split_env`: `salt://path?saltenv=x` -> (path, env).
fn split_env(url: &str) -> (String, Option<String>) {
    match url.split_once('?') {
        Some((path, query)) => {
            let env = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("saltenv="))
                .map(str::to_string);
            (path.to_string(), env)
        }
        None => (url.to_string(), None),
    }
}

/// Fetch a script source: `salt://` through `files`, or a local path.
fn fetch_source(files: &dyn FileClient, source: &str, saltenv: &str) -> Option<Vec<u8>> {
    let (path, env) = split_env(source);
    let env = env.unwrap_or_else(|| saltenv.to_string());
    if let Some(rel) = path.strip_prefix("salt://") {
        files.get(rel, &env).ok().flatten().map(|f| f.bytes)
    } else if let Some(p) = path.strip_prefix("file://") {
        std::fs::read(p).ok()
    } else if path.starts_with('/') {
        std::fs::read(&path).ok()
    } else {
        None
    }
}

/// `os.path.splitext(path)[1]`.
fn py_ext(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stripped = base.trim_start_matches('.');
    match stripped.rfind('.') {
        Some(i) => stripped[i..].to_string(),
        None => String::new(),
    }
}

/// `cmd.script` with `salt://` resolved by `files` (the `cmd.script` state
/// passes the state's file client; the execution function the minion's
/// `file_roots`). `context` (template variables) may sit in `kwargs`.
pub fn script_with(
    ctx: &Context,
    files: &dyn FileClient,
    args: Vec<Value>,
    kwargs: Map,
) -> Result<Value, String> {
    script_impl(ctx, files, "cmd.script", SCRIPT_PARAMS, args, kwargs)
}

fn script_impl(
    ctx: &Context,
    files: &dyn FileClient,
    fun: &str,
    names: &'static [&'static str],
    args: Vec<Value>,
    kwargs: Map,
) -> Result<Value, String> {
    let a = Args::bind(fun, names, args, kwargs)?;
    let saltenv = a
        .s("saltenv")
        .or_else(|| ctx.opts.get("saltenv").filter(|v| v.truthy()).map(str_of))
        .unwrap_or_else(|| "base".into());
    let source = a.s("source").unwrap_or_default();
    let mut s = spec(&a, false, false)?;
    // _python_shell_default: only a given shell turns the shell on.
    s.python_shell = match a.v("python_shell") {
        Some(v) if s.shell.is_some() || v.truthy() => v.truthy(),
        Some(_) => false,
        None => s.shell.is_some(),
    };
    let dir = s.cwd.clone().unwrap_or_else(|| "/tmp".into());
    let (path, _) = split_env(&source);
    let tmp = make_temp(&dir, &py_ext(&path))
        .map_err(|e| format!("[Errno {}] {e}: '{dir}'", e.raw_os_error().unwrap_or(0)))?;
    let cleanup = |p: &str| {
        if let Err(e) = std::fs::remove_file(p) {
            tracing::error!("cmd.script: Unable to clean tempfile '{p}': {e}");
        }
    };
    let body = match fetch_source(files, &source, &saltenv) {
        Some(b) => b,
        None => {
            tracing::error!("Unable to cache file '{source}' from saltenv '{saltenv}'.");
            cleanup(&tmp);
            return Ok(cache_error());
        }
    };
    let body = match s.template.take() {
        Some(engine) => {
            if engine != "jinja" {
                cleanup(&tmp);
                return Ok(cache_error());
            }
            let mut extra = Map::default();
            if let Some(Value::Map(c)) = a.v("context") {
                extra.extend(c.clone());
            }
            let pillar = ctx.pillar();
            let rctx = brine_core::render::RenderContext {
                opts: &ctx.opts,
                grains: ctx.grains(),
                pillar: &pillar,
                saltenv: &saltenv,
                sls: "",
                functions: ctx,
                file_client: files,
                extra,
            };
            let text = String::from_utf8_lossy(&body).into_owned();
            match brine_core::render::render_template(&text, &source, &rctx) {
                Ok(t) => t.into_bytes(),
                Err(e) => {
                    // SaltRenderError propagates out of cmd.script.
                    cleanup(&tmp);
                    return Err(e.message);
                }
            }
        }
        None => body,
    };
    {
        use std::os::unix::fs::PermissionsExt;
        let written = std::fs::write(&tmp, &body)
            .and_then(|_| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o500)));
        if let Err(e) = written {
            cleanup(&tmp);
            return Err(format!("Unable to write script '{tmp}': {e}"));
        }
        if let Some(uid) = s.runas.as_deref().and_then(super::file::user_to_uid) {
            let _ = std::os::unix::fs::chown(&tmp, Some(uid), None);
        }
    }
    let mut argv = vec![Value::Str(tmp.clone())];
    match a.v("args") {
        Some(Value::List(l)) => argv.extend(l.iter().cloned()),
        Some(v) if v.truthy() => argv.push(Value::Str(str_of(v))),
        _ => {}
    }
    s.cmd = Value::List(argv);
    let ret = match execute(ctx, &s) {
        Ok(mut r) => {
            if s.hide_output {
                r.stdout.clear();
                r.stderr.clear();
            }
            Value::Map(r.to_map())
        }
        Err(e) => {
            tracing::error!("cmd.script: Unable to run script '{tmp}': {e}");
            Value::map()
        }
    };
    cleanup(&tmp);
    Ok(ret)
}

/// `salt.utils.files.mkstemp(dir=dir, suffix=ext)`: a new empty file.
fn make_temp(dir: &str, ext: &str) -> std::io::Result<String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut last = None;
    for _ in 0..100 {
        let n =
            seed ^ ((std::process::id() as u64) << 20) ^ (N.fetch_add(1, Ordering::SeqCst) * 7919);
        let path = format!(
            "{}/__salt.tmp.{:08x}{ext}",
            dir.trim_end_matches('/'),
            n & 0xffff_ffff
        );
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name")))
}

fn script(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let client = ctx.file_client(&ctx.opts);
    script_impl(ctx, &*client, "cmd.script", SCRIPT_PARAMS, args, kwargs)
}

fn script_retcode(ctx: &Context, args: Vec<Value>, mut kwargs: Map) -> Result<Value, String> {
    let client = ctx.file_client(&ctx.opts);
    // Salt's script_retcode renders with jinja unless told otherwise.
    let tkey = Value::from("template");
    let positional_template = args.len() > 9;
    if !positional_template && !kwargs.contains_key(&tkey) {
        kwargs.insert(tkey, Value::from("jinja"));
    }
    let ret = script_impl(
        ctx,
        &*client,
        "cmd.script_retcode",
        SCRIPT_RETCODE_PARAMS,
        args,
        kwargs,
    )?;
    Ok(ret.get("retcode").cloned().unwrap_or(Value::Int(1)))
}

/// `salt.utils.path.which`: an executable path as given, else the first
/// match along `PATH` plus Salt's default directories.
pub fn path_which(exe: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if exe.is_empty() {
        return None;
    }
    let is_exec = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if is_exec(std::path::Path::new(exe)) {
        return Some(exe.to_string());
    }
    let mut dirs: Vec<String> = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(str::to_string)
        .collect();
    for d in [
        "/sbin",
        "/bin",
        "/usr/sbin",
        "/usr/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ] {
        if !dirs.iter().any(|x| x == d) {
            dirs.push(d.to_string());
        }
    }
    dirs.into_iter()
        .map(|d| crate::modules::file::py_join(&[d, exe.to_string()]))
        .find(|p| is_exec(std::path::Path::new(p)))
}

fn which(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("cmd.which", &["cmd"], 1, false, false, args, kwargs)?;
    Ok(path_which(&str_of(&b.get(0, Value::Null)))
        .map(Value::Str)
        .unwrap_or(Value::Null))
}

fn has_exec(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("cmd.has_exec", &["cmd"], 1, false, false, args, kwargs)?;
    Ok(Value::Bool(
        path_which(&str_of(&b.get(0, Value::Null))).is_some(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlex_like_python() {
        assert_eq!(
            shlex_split("echo 'a b' \"c\\\"d\" e\\ f").unwrap(),
            vec!["echo", "a b", "c\"d", "e f"]
        );
        assert_eq!(shlex_split("a \"x\\y\"").unwrap(), vec!["a", "x\\y"]);
        assert!(shlex_split("a 'b").is_err());
        assert!(shlex_split("a \"b").is_err());
        assert_eq!(
            shlex_split(r#"a=b "c d"=e 'f' g\ h"#).unwrap(),
            vec!["a=b", "c d=e", "f", "g h"]
        );
        // Python's shlex splits on space, tab, CR and LF only.
        assert_eq!(shlex_split("a\u{a0}b\x0bc").unwrap(), vec!["a\u{a0}b\x0bc"]);
        assert_eq!(shlex_split("  ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn runs_and_strips() {
        let ctx = Context::new(Value::map());
        let mut kw = Map::default();
        kw.insert(Value::from("python_shell"), Value::Bool(true));
        let out = run(
            &ctx,
            vec![Value::from("echo out; echo err >&2; exit 3")],
            kw,
        )
        .unwrap();
        assert_eq!(out, Value::from("out\nerr"));
        assert_eq!(ctx.retcode.load(std::sync::atomic::Ordering::SeqCst), 3);
        let out = run(&ctx, vec![Value::from("echo a;  b")], Map::default()).unwrap();
        assert_eq!(out, Value::from("a; b"));
        let rc = retcode(&ctx, vec![Value::from("false")], Map::default()).unwrap();
        assert_eq!(rc, Value::Int(1));
        let e = run(&ctx, vec![Value::from("exit 3")], Map::default()).unwrap_err();
        assert!(e.contains("No such file or directory: 'exit'"), "{e}");
    }
}
