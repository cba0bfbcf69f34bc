//! `cmd` (salt/modules/cmdmod.py): run, run_stdout, run_all, retcode,
//! shell, which, has_exec. As in Salt, `python_shell` defaults to false for `cmd.run` & co
//! (the command is split like `shlex.split` and executed directly) and to
//! true for `cmd.shell`; the retcode lands in `__context__["retcode"]`.

use super::{bind, is_true, Context, ModFn};
use brine_core::output::pyrepr::{self, str_of};
use brine_core::value::{Map, Value};
use std::io::{Read, Write};
use std::process::{Command, Stdio};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("run", run),
    ("run_stdout", run_stdout),
    ("run_all", run_all),
    ("retcode", retcode),
    ("shell", shell),
    ("which", which),
    ("has_exec", has_exec),
];

/// The parameters every `cmd.*` function shares (after `cmd`).
const PARAMS: &[&str] = &[
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

/// What a command run produced.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub pid: u32,
    pub retcode: i32,
    pub stdout: String,
    pub stderr: String,
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

struct Spec {
    cmd: String,
    /// Whether `cmd` was given as a string (else Salt runs it unsplit).
    cmd_is_str: bool,
    cwd: Option<String>,
    stdin: Option<String>,
    shell: Option<String>,
    python_shell: bool,
    env: Map,
    clean_env: bool,
    rstrip: bool,
    reset_system_locale: bool,
    ignore_retcode: bool,
    redirect_stderr: bool,
    quiet: bool,
}

fn spec(
    fun: &str,
    args: Vec<Value>,
    kwargs: Map,
    shell_default: bool,
    redirect_default: bool,
) -> Result<Spec, String> {
    let b = bind(fun, PARAMS, 1, false, true, args, kwargs)?;
    let env = match b.opt(7) {
        None => Map::new(),
        Some(Value::Map(m)) => m.clone(),
        Some(_) => return Err(super::invalid_args("Invalid input for 'env' parameter")),
    };
    let shell = b.str(5);
    let python_shell = match b.opt(6) {
        Some(v) => v.truthy(),
        None => shell_default,
    };
    let loglevel = b.str(13).unwrap_or_default().to_lowercase();
    Ok(Spec {
        cmd: str_of(&b.get(0, Value::Null)),
        cmd_is_str: matches!(b.get(0, Value::Null), Value::Str(_)),
        cwd: b.str(1),
        stdin: b.str(2),
        shell,
        python_shell,
        env,
        clean_env: b.opt(8).is_some_and(is_true),
        rstrip: b.opt(10).map(Value::truthy).unwrap_or(true),
        reset_system_locale: b.opt(17).map(Value::truthy).unwrap_or(true),
        ignore_retcode: b.opt(18).is_some_and(Value::truthy),
        redirect_stderr: b.opt(21).map(Value::truthy).unwrap_or(redirect_default),
        quiet: matches!(loglevel.as_str(), "quiet" | "none"),
    })
}

fn execute(ctx: &Context, s: &Spec) -> Result<RunResult, String> {
    let cwd = match &s.cwd {
        Some(c) => c.clone(),
        None => {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/".into());
            if std::fs::read_dir(&home).is_ok() {
                home
            } else {
                "/".into()
            }
        }
    };
    if !cwd.starts_with('/') || !std::path::Path::new(&cwd).is_dir() {
        return Err(format!(
            "Specified cwd '{cwd}' either not absolute or does not exist"
        ));
    }
    let argv: Vec<String> = if s.python_shell {
        let sh = s.shell.clone().unwrap_or_else(|| "/bin/sh".into());
        vec![sh, "-c".into(), s.cmd.clone()]
    } else {
        shlex_split(&s.cmd)?
    };
    let Some((prog, rest)) = argv.split_first() else {
        return Err(format!("Unable to run command '{}': empty command", s.cmd));
    };
    let mut command = Command::new(prog);
    command.args(rest).current_dir(&cwd);
    if s.clean_env {
        command.env_clear();
    }
    if s.reset_system_locale {
        for v in LOCALE_VARS {
            command.env(v, "C");
        }
    }
    for (k, v) in &s.env {
        command.env(str_of(k), str_of(v));
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
        let argv_repr = if s.cmd_is_str && !s.python_shell {
            pyrepr::repr(&Value::List(argv.iter().map(|a| Value::from(a.as_str())).collect()))
        } else {
            s.cmd.clone()
        };
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => format!("[Errno 2] No such file or directory: '{prog}'"),
            std::io::ErrorKind::PermissionDenied => format!("[Errno 13] Permission denied: '{prog}'"),
            _ => e.to_string(),
        };
        format!(
            "Unable to run command '{argv_repr}' with the context '{{'cwd': '{cwd}', 'shell': {}}}', reason: {reason}",
            if s.python_shell { "True" } else { "False" }
        )
    })?;
    // The Command keeps the write ends until dropped.
    drop(command);
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
    let mut out = Vec::new();
    let _ = reader.read_to_end(&mut out);
    let err = err_thread.join().unwrap_or_default();
    let status = child
        .wait()
        .map_err(|e| format!("Unable to wait for command: {e}"))?;
    let retcode = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        status.signal().map(|s| -s).unwrap_or(1)
    });
    let mut stdout = String::from_utf8_lossy(&out).into_owned();
    let mut stderr = String::from_utf8_lossy(&err).into_owned();
    if s.rstrip {
        stdout = py_rstrip(&stdout);
        stderr = py_rstrip(&stderr);
    }
    let rc = if s.ignore_retcode { 0 } else { retcode };
    ctx.set_retcode(rc);
    if retcode != 0 && !s.ignore_retcode && !s.quiet {
        tracing::error!(
            "Command '{}' failed with return code: {}",
            log_cmd(&s.cmd),
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
        pid: child.id(),
        retcode,
        stdout,
        stderr,
    })
}

/// `cmd.run`/`cmd.shell` log the failure once more with the output.
fn log_failure(s: &Spec, r: &RunResult) {
    if r.retcode != 0 && !s.ignore_retcode && !s.quiet {
        tracing::error!(
            "Command '{}' failed with return code: {}",
            log_cmd(&s.cmd),
            r.retcode
        );
        tracing::error!("output: {}", r.stdout);
    }
}

fn run(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let s = spec("cmd.run", args, kwargs, false, true)?;
    let r = execute(ctx, &s)?;
    log_failure(&s, &r);
    Ok(Value::Str(r.stdout))
}

fn shell(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let mut s = spec("cmd.shell", args, kwargs, true, true)?;
    if s.shell.is_none() {
        s.shell = Some(std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into()));
    }
    let r = execute(ctx, &s)?;
    log_failure(&s, &r);
    Ok(Value::Str(r.stdout))
}

fn run_stdout(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let s = spec("cmd.run_stdout", args, kwargs, false, false)?;
    let r = execute(ctx, &s)?;
    Ok(Value::Str(r.stdout))
}

fn run_all(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let s = spec("cmd.run_all", args, kwargs, false, false)?;
    let r = execute(ctx, &s)?;
    let mut m = Map::new();
    m.insert(Value::from("pid"), Value::Int(r.pid as i128));
    m.insert(Value::from("retcode"), Value::Int(r.retcode as i128));
    m.insert(Value::from("stdout"), Value::Str(r.stdout));
    m.insert(Value::from("stderr"), Value::Str(r.stderr));
    Ok(Value::Map(m))
}

fn retcode(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let s = spec("cmd.retcode", args, kwargs, false, false)?;
    let r = execute(ctx, &s)?;
    Ok(Value::Int(r.retcode as i128))
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
        let mut kw = Map::new();
        kw.insert(Value::from("python_shell"), Value::Bool(true));
        let out = run(
            &ctx,
            vec![Value::from("echo out; echo err >&2; exit 3")],
            kw,
        )
        .unwrap();
        assert_eq!(out, Value::from("out\nerr"));
        assert_eq!(ctx.retcode.load(std::sync::atomic::Ordering::SeqCst), 3);
        let out = run(&ctx, vec![Value::from("echo a;  b")], Map::new()).unwrap();
        assert_eq!(out, Value::from("a; b"));
        let rc = retcode(&ctx, vec![Value::from("false")], Map::new()).unwrap();
        assert_eq!(rc, Value::Int(1));
        let e = run(&ctx, vec![Value::from("exit 3")], Map::new()).unwrap_err();
        assert!(e.contains("No such file or directory: 'exit'"), "{e}");
    }
}
