//! brine-minion: a Salt minion. Reads /etc/salt/minion and minion.d/*.conf
//! (`-c DIR`), generates its key pair on first start, signs in to the
//! master and serves its jobs (see `brine_minion::agent`).

use brine_core::wire::client::ClientError;
use brine_minion::agent::{Agent, AgentError};
use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::filter::LevelFilter;

#[derive(Parser, Debug)]
#[command(
    name = "brine-minion",
    about = "Brine's minion agent (a Salt 3007 minion)"
)]
struct Cli {
    /// The configuration directory (holding `minion` and `minion.d/`).
    #[arg(short = 'c', long = "config-dir", default_value = "/etc/salt")]
    config_dir: String,
    /// Console logging level: all, garbage, trace, debug, info, warning,
    /// error, critical, quiet.
    #[arg(short = 'l', long = "log-level")]
    log_level: Option<String>,
    /// The minion id when the config sets none.
    #[arg(long = "id")]
    id: Option<String>,
}

fn level(name: &str) -> LevelFilter {
    match name.to_ascii_lowercase().as_str() {
        "all" | "garbage" | "trace" | "profile" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warning" | "warn" => LevelFilter::WARN,
        "error" | "critical" => LevelFilter::ERROR,
        "quiet" => LevelFilter::OFF,
        _ => LevelFilter::WARN,
    }
}

/// Log to `log_file` (append) at `log_level_logfile` (else `log_level`),
/// or to stderr when `-l` is given or the file cannot be opened.
fn init_logging(opts: &brine_core::value::Value, cli_level: Option<&str>) {
    let get = |k: &str| opts.get(k).and_then(|v| v.as_str()).map(String::from);
    let file_level = get("log_level_logfile")
        .or_else(|| get("log_level"))
        .unwrap_or_else(|| "warning".into());
    let file = get("log_file").and_then(|p| {
        if let Some(dir) = std::path::Path::new(&p).parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let builder = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_target(false);
    match (cli_level, file) {
        (None, Some(f)) => {
            let _ = builder
                .with_max_level(level(&file_level))
                .with_writer(std::sync::Mutex::new(f))
                .try_init();
        }
        (lvl, _) => {
            let _ = builder
                .with_max_level(level(lvl.unwrap_or(&file_level)))
                .with_writer(std::io::stderr)
                .try_init();
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dir = std::path::Path::new(&cli.config_dir);
    let opts = match brine_core::config::load_minion_config_with_id(dir, cli.id.as_deref()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("brine-minion: {e}");
            return ExitCode::from(78);
        }
    };
    init_logging(&opts, cli.log_level.as_deref());
    // Salt's minion process restarts itself (after `random_reauth_delay`)
    // on errors other than a rejected key or a wrong master fingerprint.
    loop {
        let result = Agent::new(opts.clone()).and_then(|mut agent| agent.run());
        match result {
            Ok(()) => return ExitCode::SUCCESS,
            Err(AgentError::Rejected) => {
                // Salt waits 10-20 s before exiting so that a service manager
                // restarting it does not hammer the master.
                let delay = 10 + (std::process::id() % 11) as u64;
                std::thread::sleep(std::time::Duration::from_secs(delay));
                return ExitCode::from(77);
            }
            Err(AgentError::Fatal(42, msg)) => {
                eprintln!("brine-minion: {msg}");
                return ExitCode::from(42);
            }
            Err(e @ (AgentError::Config(_) | AgentError::Client(ClientError::Key(_)))) => {
                tracing::error!("{e}");
                eprintln!("brine-minion: {e}");
                return ExitCode::from(1);
            }
            Err(e) => {
                let max = opts
                    .get("random_reauth_delay")
                    .and_then(|v| v.as_int())
                    .unwrap_or(10)
                    .clamp(1, 3600) as u64;
                let delay = 1 + brine_core::wire::crypticle::random_bytes(2)
                    .iter()
                    .fold(0u64, |a, b| a * 256 + *b as u64)
                    % max;
                tracing::warn!("Fatal error: {e}; restarting the minion in {delay} s");
                std::thread::sleep(std::time::Duration::from_secs(delay));
            }
        }
    }
}
