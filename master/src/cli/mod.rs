//! The master-side command line front ends, each a function the thin
//! binaries call: [`key`] (`brine-key`, salt-key), [`salt`] (`brine`, the
//! `salt` command) and [`run`] (`brine-run`, salt-run's jobs.* and
//! manage.* runners). Shared here: loading the master config named by
//! `-c`, Salt's option-parser error format and outputter selection.

pub mod key;
pub mod run;
pub mod salt;

use brine_core::output::{self, OutputIndent, OutputOptions};
use brine_core::value::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Salt's default config dir.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/salt";

/// Exit code of Salt's option parser errors (`EX_USAGE`).
pub const EX_USAGE: i32 = 64;

/// Load the master options from `config_dir` (`-c`).
pub fn load_opts(config_dir: &Path) -> Result<Map, String> {
    crate::config::load_master_config(config_dir).map_err(|e| e.to_string())
}

/// A path option of the loaded master config, or `default`.
pub fn opt_path(opts: &Map, k: &str, default: &str) -> PathBuf {
    PathBuf::from(
        opts.get(&Value::str(k))
            .and_then(Value::as_str)
            .unwrap_or(default),
    )
}

/// Whether file descriptor 1 is a terminal.
pub fn stdout_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(1) == 1 }
}

/// Print an option-parser error as optparse does (`Usage: ...`, a blank
/// line, `prog: error: msg`) on stderr; returns [`EX_USAGE`].
pub fn usage_error(err: &mut dyn Write, prog: &str, usage: &str, msg: &str) -> i32 {
    let _ = writeln!(err, "Usage: {prog} {usage}\n\n{prog}: error: {msg}");
    EX_USAGE
}

/// Turn a clap error into Salt's optparse-style message (exit 64), or
/// print help/version (exit 0).
pub fn clap_error(
    e: clap::Error,
    argv: &[std::ffi::OsString],
    out: &mut dyn Write,
    err: &mut dyn Write,
    prog: &str,
    usage: &str,
) -> i32 {
    use clap::error::{ContextKind, ErrorKind};
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = write!(out, "{}", e.render());
            0
        }
        ErrorKind::UnknownArgument => {
            let arg = e
                .get(ContextKind::InvalidArg)
                .map(|a| a.to_string())
                .unwrap_or_default();
            usage_error(err, prog, usage, &format!("no such option: {arg}"))
        }
        ErrorKind::InvalidValue
            if argv
                .last()
                .is_some_and(|l| l.to_string_lossy().starts_with('-')) =>
        {
            let flag = argv.last().map(|l| l.to_string_lossy().to_string());
            let msg = format!("{} option requires 1 argument", flag.unwrap_or_default());
            usage_error(err, prog, usage, &msg)
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ")
                .to_string();
            usage_error(err, prog, usage, &first)
        }
    }
}

/// Output settings from the common `--out`, `--out-indent`, `--no-color`
/// and `--force-color` flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutFlags {
    /// Outputter.
    #[arg(long = "out", alias = "output")]
    pub out: Option<String>,
    /// Indentation for the json/yaml outputters.
    #[arg(
        long = "out-indent",
        alias = "output-indent",
        allow_hyphen_values = true
    )]
    pub out_indent: Option<i64>,
    /// No colours.
    #[arg(long = "no-color", alias = "no-colour")]
    pub no_color: bool,
    /// Colours even when not on a terminal.
    #[arg(long = "force-color", alias = "force-colour")]
    pub force_color: bool,
}

impl OutFlags {
    /// Whether colour is on: forced, or stdout is a terminal and not
    /// disabled.
    pub fn color(&self) -> bool {
        self.force_color || (!self.no_color && stdout_is_tty())
    }

    /// The core outputter options.
    pub fn options(&self) -> OutputOptions {
        OutputOptions {
            color: self.color(),
            indent: match self.out_indent {
                Some(n) => OutputIndent::Spaces(n),
                None => OutputIndent::Unset,
            },
            ..Default::default()
        }
    }

    /// Format `data` with the chosen outputter (or `default`), with the
    /// trailing newline `display_output` prints (nothing for empty text).
    pub fn render(&self, data: &Value, default: &str) -> String {
        let name = self.out.as_deref().unwrap_or(default);
        let text = output::display(data, name, &self.options());
        if text.is_empty() {
            text
        } else {
            format!("{text}\n")
        }
    }
}

/// A string key.
pub(crate) fn k(s: &str) -> Value {
    Value::str(s)
}
