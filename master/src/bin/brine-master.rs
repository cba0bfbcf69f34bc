//! `brine-master [-c DIR] [-l LEVEL] [-d]`: the master daemon (Salt's
//! `salt-master`). Reads `DIR/master` (+ `master.d/*.conf`), logs to
//! `log_file` at `log_level_logfile` (or `log_level`), and to stderr at
//! `-l` (default warning); `-d` detaches into the background. Stops
//! cleanly on SIGTERM or SIGINT.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

#[derive(Parser)]
#[command(
    name = "brine-master",
    about = "The Brine master daemon (salt-master compatible)"
)]
struct Args {
    /// Configuration directory (holds `master` and `master.d/`).
    #[arg(short = 'c', long = "config-dir", default_value = "/etc/salt")]
    config_dir: PathBuf,
    /// Console log level: all, garbage, trace, debug, info, warning, error, critical, quiet.
    #[arg(short = 'l', long = "log-level")]
    log_level: Option<String>,
    /// Run in the background.
    #[arg(short = 'd', long = "daemon")]
    daemon: bool,
}

fn level(name: &str) -> LevelFilter {
    match name.to_ascii_lowercase().as_str() {
        "all" | "garbage" | "trace" => LevelFilter::TRACE,
        "debug" | "profile" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warning" | "warn" => LevelFilter::WARN,
        "error" | "critical" => LevelFilter::ERROR,
        "quiet" => LevelFilter::OFF,
        _ => LevelFilter::WARN,
    }
}

fn daemonize() -> Result<(), String> {
    // SAFETY: called before any thread is started; the parent exits at once.
    unsafe {
        match libc::fork() {
            -1 => return Err("fork failed".into()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() == -1 {
            return Err("setsid failed".into());
        }
        match libc::fork() {
            -1 => return Err("fork failed".into()),
            0 => {}
            _ => libc::_exit(0),
        }
        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if devnull >= 0 {
            libc::dup2(devnull, 0);
            libc::dup2(devnull, 1);
            libc::dup2(devnull, 2);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = match brine_master::config::load_master_config(&args.config_dir) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    if args.daemon {
        if let Err(e) = daemonize() {
            eprintln!("brine-master: {e}");
            return ExitCode::from(1);
        }
    }
    let console_level = args
        .log_level
        .as_deref()
        .or(brine_master::config::opt_str(&opts, "log_level"))
        .map(level)
        .unwrap_or(LevelFilter::WARN);
    let file_level = brine_master::config::opt_str(&opts, "log_level_logfile")
        .or(brine_master::config::opt_str(&opts, "log_level"))
        .map(level)
        .unwrap_or(LevelFilter::WARN);
    let log_file = brine_master::config::opt_str(&opts, "log_file").map(PathBuf::from);
    let file_layer = log_file.and_then(|p| {
        if let Some(d) = p.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
        {
            Ok(f) => Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(f))
                    .with_filter(file_level),
            ),
            Err(e) => {
                eprintln!(
                    "brine-master: cannot open the log file {}: {e}",
                    p.display()
                );
                None
            }
        }
    });
    let console = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(console_level);
    let subscriber = tracing_subscriber::registry()
        .with(console)
        .with(file_layer);
    let _ = tracing::subscriber::set_global_default(subscriber);
    match brine_master::daemon::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{}", e);
            eprintln!("brine-master: {e}");
            ExitCode::from(1)
        }
    }
}
