//! `brine`: the `salt` command (salt/cli/salt.py `SaltCMD`, salt/cli/batch.py
//! `Batch`, `LocalClient.get_cli_event_returns`), talking to the running
//! master through [`crate::local::LocalClient`].
//!
//! `brine [-c DIR] [-E|-L|-G|-P|-I|-J|-C|-N|-S] TARGET FUN [ARGS] [key=value]`:
//! publishes the job under a jid generated here (subscribed to
//! `salt/job/JID/ret/` before publishing), prints each minion's return as
//! it arrives with the minion's outputter (or `--out`), and after
//! `--timeout` asks the silent minions with `saltutil.find_job` whether
//! they are still running the job (waiting on while they are), as Salt's
//! LocalClient does; minions that never answer are reported as "Minion
//! did not return. [No response]". The exit code is 1 when a minion
//! failed (retcode) or did not answer, 2 when nothing matched.
//! `--async` only publishes; `-b/--batch-size` runs the job on N (or N%)
//! minions at a time; `--progress` shows a bar of returns on a terminal;
//! `--summary` prints Salt's returns summary.

use super::{clap_error, k, load_opts, opt_path, OutFlags};
use crate::jobs::gen_jid;
use crate::local::{LocalClient, LocalError, PublishRequest};
use brine_core::output::highstate::{self, HighstateOptions};
use brine_core::output::pyrepr;
use brine_core::value::{Map, Value};
use clap::Parser;
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const USAGE: &str = "[options] '<target>' <function> [arguments]";

/// The `salt` command's options Brine supports.
#[derive(Parser, Debug, Default)]
#[command(name = "brine", about = "Run a function on minions (salt)")]
pub struct SaltArgs {
    /// Configuration directory.
    #[arg(short = 'c', long = "config-dir", default_value = super::DEFAULT_CONFIG_DIR)]
    pub config_dir: String,
    /// Seconds to wait for minions before asking whether they still run the job.
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    /// The target is a PCRE regular expression.
    #[arg(short = 'E', long = "pcre")]
    pub pcre: bool,
    /// The target is a comma- or space-separated list of minion ids.
    #[arg(short = 'L', long = "list")]
    pub list: bool,
    /// The target is a grain glob (`os:Ubuntu`).
    #[arg(short = 'G', long = "grain")]
    pub grain: bool,
    /// The target is a grain PCRE.
    #[arg(short = 'P', long = "grain-pcre")]
    pub grain_pcre: bool,
    /// The target is a pillar glob.
    #[arg(short = 'I', long = "pillar")]
    pub pillar: bool,
    /// The target is a pillar PCRE.
    #[arg(short = 'J', long = "pillar-pcre")]
    pub pillar_pcre: bool,
    /// The target is a compound expression.
    #[arg(short = 'C', long = "compound")]
    pub compound: bool,
    /// The target is a nodegroup name.
    #[arg(short = 'N', long = "nodegroup")]
    pub nodegroup: bool,
    /// The target is an IP address or CIDR subnet.
    #[arg(short = 'S', long = "ipcidr")]
    pub ipcidr: bool,
    /// Publish and print the jid without waiting for returns.
    #[arg(long = "async")]
    pub async_: bool,
    /// Run on this many minions (or this percentage) at a time.
    #[arg(short = 'b', long = "batch-size", alias = "batch")]
    pub batch: Option<String>,
    /// Seconds to wait after a minion returns before filling its batch slot.
    #[arg(long = "batch-wait", default_value_t = 0.0)]
    pub batch_wait: f64,
    /// Highstate output mode: full, terse, mixed, changes, filter.
    #[arg(long = "state-output", alias = "state_output")]
    pub state_output: Option<String>,
    /// False: hide successful states without changes.
    #[arg(long = "state-verbose", alias = "state_verbose")]
    pub state_verbose: Option<String>,
    /// Show a progress bar of the returns (on a terminal).
    #[arg(long = "progress")]
    pub progress: bool,
    /// Print a summary of the returns.
    #[arg(long = "summary")]
    pub summary: bool,
    /// Print all returns at once, at the end.
    #[arg(long = "static")]
    pub static_: bool,
    /// Print the jid and which minions did not return.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Print the jid.
    #[arg(long = "show-jid")]
    pub show_jid: bool,
    /// Do not report minions that did not return.
    #[arg(long = "hide-timeout")]
    pub hide_timeout: bool,
    /// Returners to send the returns to as well.
    #[arg(long = "return", default_value = "")]
    pub ret: String,
    /// Separator of the argument lists of a compound command.
    #[arg(long = "args-separator", default_value = ",")]
    pub args_separator: String,
    #[command(flatten)]
    pub out_flags: OutFlags,
    /// TARGET FUNCTION [ARGUMENTS ...]
    #[arg()]
    pub args: Vec<String>,
}

impl SaltArgs {
    /// The target type (Salt's `selected_target_option`), glob by default.
    pub fn tgt_type(&self) -> &'static str {
        [
            (self.pcre, "pcre"),
            (self.list, "list"),
            (self.grain, "grain"),
            (self.grain_pcre, "grain_pcre"),
            (self.pillar, "pillar"),
            (self.pillar_pcre, "pillar_pcre"),
            (self.compound, "compound"),
            (self.nodegroup, "nodegroup"),
            (self.ipcidr, "ipcidr"),
        ]
        .iter()
        .find(|(on, _)| *on)
        .map(|(_, t)| *t)
        .unwrap_or("glob")
    }
}

/// The parsed job: target, function(s) and conditioned arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub tgt: Value,
    pub tgt_type: String,
    /// One function, or a compound command's list.
    pub fun: Value,
    /// The arguments as published: positional values then, when there are
    /// keyword arguments, `{__kwarg__: True, ...}` (Salt's condition_input);
    /// a list of such lists for a compound command.
    pub arg: Vec<Value>,
}

/// `salt.utils.args.parse_input(words)` + `condition_input`.
pub fn condition_args(words: &[String]) -> Vec<Value> {
    let (mut args, kwargs) = brine_minion::modules::parse_input(words);
    // condition_input: integers that look like jids are sent as strings.
    for a in args.iter_mut() {
        if let Value::Int(i) = a {
            let s = i.to_string();
            if crate::jobs::is_jid(&s) {
                *a = Value::str(s);
            }
        }
    }
    if !kwargs.is_empty() {
        let mut kw = Map::default();
        kw.insert(k("__kwarg__"), Value::Bool(true));
        for (key, v) in kwargs {
            kw.insert(key, v);
        }
        args.push(Value::Map(kw));
    }
    args
}

/// Salt's SaltCMDOptionParser._mixin_after_parsed: target (a list for
/// `-L`), function (a list for `fun1,fun2`, with the arguments split on
/// `--args-separator`) and the parsed arguments. Errors are the message
/// and exit code Salt exits with.
pub fn parse_job(a: &SaltArgs) -> Result<Job, (i32, String)> {
    let Some(tgt) = a.args.first() else {
        return Err((
            42,
            "\nCannot execute command without defining a target.\n\n".into(),
        ));
    };
    let tgt = if a.list {
        let parts: Vec<Value> = if tgt.contains(',') {
            tgt.replace(' ', "").split(',').map(Value::str).collect()
        } else {
            tgt.split_whitespace().map(Value::str).collect()
        };
        Value::List(parts)
    } else {
        Value::str(tgt.as_str())
    };
    let Some(fun) = a.args.get(1) else {
        return Err((
            42,
            "\nCannot execute command without defining a function.\n\n".into(),
        ));
    };
    let rest = &a.args[2..];
    let sep = a.args_separator.as_str();
    if fun.contains(',') {
        let funs: Vec<&str> = fun.split(',').collect();
        let mut groups: Vec<Vec<String>> = vec![Vec::new()];
        if !sep.is_empty() && rest.iter().filter(|x| *x == sep).count() == funs.len() - 1 {
            for w in rest {
                if w == sep {
                    groups.push(Vec::new());
                } else if let Some(g) = groups.last_mut() {
                    g.push(w.clone());
                }
            }
        } else {
            for w in rest {
                if !sep.is_empty() && w.contains(sep) {
                    let subs: Vec<&str> = w.split(sep).collect();
                    for (i, s) in subs.iter().enumerate() {
                        if !s.is_empty() {
                            if let Some(g) = groups.last_mut() {
                                g.push(s.to_string());
                            }
                        }
                        if i != subs.len() - 1 {
                            groups.push(Vec::new());
                        }
                    }
                } else if let Some(g) = groups.last_mut() {
                    g.push(w.clone());
                }
            }
        }
        if funs.len() > groups.len() {
            return Err((
                42,
                "Cannot execute compound command without defining all arguments.\n".into(),
            ));
        }
        if funs.len() < groups.len() {
            return Err((
                42,
                "Cannot execute compound command with more arguments than commands.\n".into(),
            ));
        }
        return Ok(Job {
            tgt,
            tgt_type: a.tgt_type().into(),
            fun: Value::List(funs.into_iter().map(Value::str).collect()),
            arg: groups
                .iter()
                .map(|g| Value::List(condition_args(g)))
                .collect(),
        });
    }
    Ok(Job {
        tgt,
        tgt_type: a.tgt_type().into(),
        fun: Value::str(fun.as_str()),
        arg: condition_args(rest),
    })
}

/// salt/cli/batch.py `get_bnum`: `N` minions, or `N%` of `total`
/// (rounded down, but at least 1 when the share is below one minion).
/// None when the value is not a number (Salt then prints
/// [`bad_batch_message`]).
pub fn batch_size(spec: &str, total: usize) -> Option<usize> {
    if spec.contains('%') {
        let pct: f64 = spec.trim_matches('%').trim().parse().ok()?;
        if !pct.is_finite() {
            return None;
        }
        let res = pct / 100.0 * total as f64;
        let n = if res < 1.0 { res.ceil() } else { res.floor() };
        Some(n.max(0.0) as usize)
    } else {
        let n: i64 = spec.trim().parse().ok()?;
        Some(n.max(0) as usize)
    }
}

/// The message Salt prints for an unusable `--batch-size`.
pub fn bad_batch_message(spec: &str) -> String {
    format!("Invalid batch data sent: {spec}\nData must be in the form of %10, 10% or 3")
}

/// The text Salt puts in place of a missing return.
pub fn no_response_text(jid: &str) -> String {
    format!(
        "Minion did not return. [No response]\nThe minions may not have all finished running and any remaining minions will return upon completion. To look up the return data for this job later, run the following command:\n\nsalt-run jobs.lookup_jid {jid}"
    )
}

/// salt/output/no_return.py.
fn no_return_output(data: &Value, color: bool) -> String {
    let (red, cyan, endc) = if color {
        ("\x1b[0;31m", "\x1b[0;36m", "\x1b[0;0m")
    } else {
        ("", "", "")
    };
    fn walk(v: &Value, indent: usize, out: &mut String, c: (&str, &str, &str)) {
        match v {
            Value::Str(s) => {
                for line in s.split('\n') {
                    out.push_str(&format!("{}{}{line}{}\n", c.0, " ".repeat(indent), c.2));
                }
            }
            Value::Map(m) => {
                let mut keys: Vec<&Value> = m.keys().collect();
                keys.sort_by_key(|a| a.key_string());
                for key in keys {
                    out.push_str(&format!(
                        "{}{}{}{}:\n",
                        c.1,
                        " ".repeat(indent),
                        key.key_string(),
                        c.2
                    ));
                    walk(&m[key], indent + 4, out, c);
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    walk(data, 0, &mut out, (red, cyan, endc));
    out
}

/// How returns are printed: outputter choice and highstate settings.
pub struct Printer {
    pub flags: OutFlags,
    pub hs: HighstateOptions,
}

impl Printer {
    /// The printer for these options over the master opts.
    pub fn new(a: &SaltArgs, opts: &Map) -> Printer {
        let mut o = opts.clone();
        if let Some(s) = &a.state_output {
            o.insert(k("state_output"), Value::str(s.as_str()));
        }
        if let Some(v) = &a.state_verbose {
            let b = !matches!(v.to_lowercase().as_str(), "false" | "0" | "no" | "off" | "");
            o.insert(k("state_verbose"), Value::Bool(b));
        }
        Printer {
            flags: a.out_flags.clone(),
            hs: HighstateOptions::from_opts(&o),
        }
    }

    /// `display_output(data, out, opts, _retcode)`: `--out` wins over the
    /// minion's outputter; the text ends with a newline unless empty.
    pub fn render(&self, data: &Value, minion_out: &str, retcode: i32) -> String {
        let name = self
            .flags
            .out
            .clone()
            .unwrap_or_else(|| minion_out.to_string());
        let mut oo = self.flags.options();
        oo.retcode = retcode;
        let text = match name.as_str() {
            "no_return" => no_return_output(data, oo.color).trim_end().to_string(),
            "highstate" => highstate::output_with(data, &oo, &self.hs)
                .trim_end()
                .to_string(),
            other => brine_core::output::display(data, other, &oo),
        };
        if text.is_empty() {
            text
        } else {
            format!("{text}\n")
        }
    }
}

/// `_get_retcode`: a non-zero `retcode` (the largest of a dict's).
pub fn get_retcode(data: &Value) -> i32 {
    match data.get("retcode") {
        Some(Value::Int(i)) => (*i).clamp(i32::MIN as i128, i32::MAX as i128) as i32,
        Some(Value::Map(m)) => m
            .values()
            .filter_map(Value::as_int)
            .max()
            .map(|i| i.clamp(i32::MIN as i128, i32::MAX as i128) as i32)
            .unwrap_or(0),
        Some(Value::Bool(b)) => i32::from(*b),
        _ => 0,
    }
}

/// One published job being waited on (`get_iter_returns`).
struct Tracker {
    jid: String,
    expected: Vec<String>,
    found: BTreeSet<String>,
    timeout: Duration,
    gather: Duration,
    timeout_at: Instant,
    minion_deadline: HashMap<String, Instant>,
    running: bool,
    find_jid: Option<String>,
}

/// A minion's return as the CLI keeps it: `{ret, out?, retcode?, jid?}`.
pub type MinionRet = (String, Map);

impl Tracker {
    fn new(jid: String, minions: Vec<String>, timeout: Duration, gather: Duration) -> Tracker {
        let now = Instant::now();
        Tracker {
            minion_deadline: minions.iter().map(|m| (m.clone(), now + timeout)).collect(),
            jid,
            expected: minions,
            found: BTreeSet::new(),
            timeout,
            gather,
            timeout_at: now + timeout,
            running: true,
            find_jid: None,
        }
    }

    /// Handle an event; returns a minion's return when it is one of ours.
    fn on_event(&mut self, tag: &str, data: &Value) -> Option<MinionRet> {
        let ret_prefix = format!("salt/job/{}/ret/", self.jid);
        if tag.starts_with(&ret_prefix) {
            let ret = data.get("return")?;
            let id = data.get("id").and_then(Value::as_str)?.to_string();
            if !self.found.insert(id.clone()) {
                return None;
            }
            if !self.expected.contains(&id) {
                self.expected.push(id.clone());
            }
            let mut m = Map::default();
            m.insert(k("ret"), ret.clone());
            for key in ["out", "retcode", "jid"] {
                if let Some(v) = data.get(key) {
                    m.insert(k(key), v.clone());
                }
            }
            return Some((id, m));
        }
        if let Some(fj) = &self.find_jid {
            if tag.starts_with(&format!("salt/job/{fj}/ret/")) {
                let id = data.get("id").and_then(Value::as_str).unwrap_or("");
                if data.get("retcode").and_then(Value::as_int).unwrap_or(0) > 0 {
                    self.expected.retain(|m| m != id);
                    return None;
                }
                let running = match data.get("return") {
                    Some(Value::Map(m)) if m.is_empty() => false,
                    Some(Value::Map(m)) => !matches!(
                        m.get(&k("return")),
                        Some(Value::Map(inner)) if inner.is_empty()
                    ),
                    _ => false,
                };
                if running {
                    self.minion_deadline
                        .insert(id.to_string(), Instant::now() + self.timeout);
                    self.running = true;
                }
            }
        }
        None
    }

    fn missing(&self) -> Vec<String> {
        self.expected
            .iter()
            .filter(|m| !self.found.contains(*m))
            .cloned()
            .collect()
    }

    /// Ask the silent minions whether they still run the job once the
    /// timeout has passed; say whether the wait is over.
    fn tick(&mut self, client: &mut LocalClient) -> Result<bool, LocalError> {
        let missing = self.missing();
        if missing.is_empty() {
            return Ok(true);
        }
        let now = Instant::now();
        if now > self.timeout_at && self.running {
            let fj = gen_jid();
            client.subscribe(&format!("salt/job/{fj}/ret/"))?;
            let req = PublishRequest {
                tgt: Value::List(missing.iter().map(|m| Value::str(m.as_str())).collect()),
                tgt_type: "list".into(),
                fun: "saltutil.find_job".into(),
                arg: vec![Value::str(self.jid.as_str())],
                kwarg: Map::default(),
                ret: String::new(),
                timeout: self.gather.as_secs(),
                jid: Some(fj.clone()),
                user: "root".into(),
            };
            client.publish(&req)?;
            self.find_jid = Some(fj);
            self.running = false;
            self.timeout_at = now + self.gather;
        }
        let done = now > self.timeout_at
            && !self.running
            && missing
                .iter()
                .all(|m| self.minion_deadline.get(m).is_none_or(|d| now >= *d));
        Ok(done)
    }
}

/// Publish `fun` to a target and wait for the returns as
/// `LocalClient.cmd` does (silent minions are asked with
/// saltutil.find_job); returns the targeted minions and the returns
/// (`{ret, out?, retcode?, jid?}`) of those that answered, in arrival
/// order. An empty target list means nothing matched.
pub fn gather(
    client: &mut LocalClient,
    tgt: Value,
    tgt_type: &str,
    fun: &str,
    arg: Vec<Value>,
    timeout: Duration,
    gather_timeout: Duration,
) -> Result<(Vec<String>, Vec<MinionRet>), LocalError> {
    let jid = gen_jid();
    client.subscribe(&format!("salt/job/{jid}/ret/"))?;
    let req = PublishRequest {
        tgt,
        tgt_type: tgt_type.into(),
        fun: fun.into(),
        arg,
        kwarg: Map::default(),
        ret: String::new(),
        timeout: timeout.as_secs(),
        jid: Some(jid.clone()),
        user: "root".into(),
    };
    let reply = client.publish(&req)?;
    if reply.minions.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let targeted = reply.minions.clone();
    let mut tracker = Tracker::new(jid, reply.minions, timeout, gather_timeout);
    let mut rets = Vec::new();
    loop {
        if let Some(ev) = client.next_event(Duration::from_millis(100))? {
            if let Some(r) = tracker.on_event(&ev.tag, &ev.data) {
                rets.push(r);
            }
            continue;
        }
        if tracker.tick(client)? {
            break;
        }
    }
    Ok((targeted, rets))
}

/// salt/cli/salt.py `_print_returns_summary`.
pub fn returns_summary(rets: &[(String, Value)], verbose: bool) -> String {
    let mut returned = 0;
    let mut not_returned = 0;
    let mut no_response = Vec::new();
    let mut not_connected = Vec::new();
    let mut failed = Vec::new();
    for (id, data) in rets {
        let r = data.get("ret").unwrap_or(data);
        match r.as_str() {
            Some(s) if s.starts_with("Minion did not return") => {
                if s.contains("Not connected") {
                    not_connected.push(id.clone());
                } else if s.contains("No response") {
                    no_response.push(id.clone());
                }
                not_returned += 1;
            }
            _ => {
                returned += 1;
                if get_retcode(data) != 0 {
                    failed.push(id.clone());
                }
            }
        }
    }
    let line = "-------------------------------------------";
    let mut s = format!(
        "\n\n{line}\nSummary\n{line}\n# of minions targeted: {}\n# of minions returned: {returned}\n# of minions that did not return: {not_returned}\n# of minions with errors: {}\n",
        returned + not_returned,
        failed.len()
    );
    if verbose {
        if !not_connected.is_empty() {
            s.push_str(&format!(
                "Minions not connected: {}\n",
                not_connected.join(" ")
            ));
        }
        if !no_response.is_empty() {
            s.push_str(&format!(
                "Minions not responding: {}\n",
                no_response.join(" ")
            ));
        }
        if !failed.is_empty() {
            s.push_str(&format!("Minions with failures: {}\n", failed.join(" ")));
        }
    }
    s.push_str(line);
    s.push('\n');
    s
}

/// The progress bar line (`progressbar`'s Percentage, Bar, Timer and
/// Counter widgets as salt/output/progress.py lays them out).
pub fn progress_line(done: usize, total: usize, elapsed: Duration, width: usize) -> String {
    let pct = (done.min(total) * 100).checked_div(total).unwrap_or(100);
    let secs = elapsed.as_secs();
    let tail = format!(
        " Elapsed Time: {}:{:02}:{:02} Returns: [{done}/{total}]",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    let head = format!("{pct:3}% ");
    let inner = width.saturating_sub(head.len() + tail.len() + 2).max(10);
    let filled = (inner * done.min(total))
        .checked_div(total)
        .unwrap_or(inner);
    format!(
        "{head}|{}{}|{tail}",
        "#".repeat(filled),
        " ".repeat(inner - filled)
    )
}

struct Ctx<'a> {
    a: &'a SaltArgs,
    job: Job,
    printer: Printer,
    timeout: Duration,
    gather: Duration,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

impl Ctx<'_> {
    fn request(&self, tgt: Value, tgt_type: &str, jid: &str) -> PublishRequest {
        PublishRequest {
            tgt,
            tgt_type: tgt_type.into(),
            fun: pyrepr::str_of(&self.job.fun),
            arg: self.job.arg.clone(),
            kwarg: Map::default(),
            ret: self.a.ret.clone(),
            timeout: self.timeout.as_secs(),
            jid: Some(jid.to_string()),
            user: std::env::var("SUDO_USER")
                .map(|u| format!("sudo_{u}"))
                .unwrap_or_else(|_| "root".into()),
        }
    }

    fn print_ret(&mut self, id: &str, data: &Map) -> i32 {
        let retcode = get_retcode(&Value::Map(data.clone()));
        let out = data
            .get(&k("out"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut m = Map::default();
        m.insert(k(id), data.get(&k("ret")).cloned().unwrap_or(Value::Null));
        let text = self.printer.render(&Value::Map(m), &out, retcode);
        let _ = write!(self.out, "{text}");
        let _ = self.out.flush();
        retcode
    }

    /// The normal (non-batch) run.
    fn run_job(&mut self, client: &mut LocalClient) -> Result<i32, LocalError> {
        let jid = gen_jid();
        client.subscribe(&format!("salt/job/{jid}/ret/"))?;
        let req = self.request(self.job.tgt.clone(), &self.job.tgt_type.clone(), &jid);
        let reply = client.publish(&req)?;
        if reply.minions.is_empty() {
            let _ = writeln!(
                self.out,
                "No minions matched the target. No command was sent, no jid was assigned."
            );
            if self.a.async_ {
                let _ = writeln!(self.out, "Executed command with job ID: 0");
                return Ok(0);
            }
            let _ = writeln!(self.err, "ERROR: No return received");
            return Ok(2);
        }
        let jid = if reply.jid.is_empty() { jid } else { reply.jid };
        if self.a.async_ {
            let _ = writeln!(self.out, "Executed command with job ID: {jid}");
            return Ok(0);
        }
        if self.a.verbose {
            let msg = format!("Executing job with jid {jid}");
            let _ = writeln!(self.out, "{msg}\n{}\n", "-".repeat(msg.len()));
        } else if self.a.show_jid {
            let _ = writeln!(self.out, "jid: {jid}");
        }
        let progress = self.a.progress && super::stdout_is_tty();
        let started = Instant::now();
        let total = reply.minions.len();
        let mut tracker = Tracker::new(jid.clone(), reply.minions, self.timeout, self.gather);
        let mut all: Vec<(String, Value)> = Vec::new();
        let mut retcodes = Vec::new();
        let mut stat: Map = Map::default();
        let bar = |err: &mut dyn Write, n: usize| {
            let _ = write!(err, "\r{}", progress_line(n, total, started.elapsed(), 80));
            let _ = err.flush();
        };
        if progress {
            bar(self.err, 0);
        }
        loop {
            if let Some(ev) = client.next_event(Duration::from_millis(100))? {
                if let Some((id, data)) = tracker.on_event(&ev.tag, &ev.data) {
                    if progress {
                        bar(self.err, tracker.found.len());
                    } else if self.a.static_ {
                        retcodes.push(get_retcode(&Value::Map(data.clone())));
                        stat.insert(k(&id), data.get(&k("ret")).cloned().unwrap_or(Value::Null));
                    } else {
                        retcodes.push(self.print_ret(&id, &data));
                    }
                    all.push((id, Value::Map(data)));
                }
                continue;
            }
            if tracker.tick(client)? {
                break;
            }
            if progress {
                bar(self.err, tracker.found.len());
            }
        }
        if !self.a.hide_timeout {
            for id in tracker.missing() {
                let mut data = Map::default();
                data.insert(k("out"), k("no_return"));
                data.insert(k("ret"), Value::str(no_response_text(&jid)));
                data.insert(k("retcode"), Value::Int(1));
                if progress {
                    // counted in the summary only
                } else if self.a.static_ {
                    retcodes.push(1);
                    stat.insert(k(&id), data[&k("ret")].clone());
                } else {
                    retcodes.push(self.print_ret(&id, &data));
                }
                all.push((id, Value::Map(data)));
            }
        }
        if progress {
            bar(self.err, tracker.found.len());
            let _ = writeln!(self.err);
            let _ = write!(self.out, "{}", returns_summary(&all, self.a.verbose));
        } else if self.a.static_ {
            let rc = retcodes.iter().copied().max().unwrap_or(0);
            let text = self.printer.render(&Value::Map(stat), "", rc);
            let _ = write!(self.out, "{text}");
        }
        if self.a.summary && self.a.out_flags.out.is_none() && !progress {
            let _ = write!(self.out, "{}", returns_summary(&all, self.a.verbose));
        }
        if all.is_empty() {
            let _ = writeln!(self.err, "ERROR: No return received");
            return Ok(2);
        }
        if retcodes.iter().any(|r| *r != 0) {
            let _ = writeln!(self.err, "ERROR: Minions returned with non-zero exit code");
            return Ok(1);
        }
        Ok(0)
    }

    /// salt/cli/batch.py `Batch.run`.
    fn run_batch(&mut self, client: &mut LocalClient, spec: &str) -> Result<i32, LocalError> {
        // gather_minions: test.ping the target.
        let jid = gen_jid();
        client.subscribe(&format!("salt/job/{jid}/ret/"))?;
        let mut ping = self.request(self.job.tgt.clone(), &self.job.tgt_type.clone(), &jid);
        ping.fun = "test.ping".into();
        ping.arg = Vec::new();
        let reply = client.publish(&ping)?;
        if reply.minions.is_empty() {
            let _ = writeln!(self.out, "No minions matched the target.");
            return Ok(0);
        }
        let mut tracker = Tracker::new(jid, reply.minions.clone(), self.timeout, self.gather);
        let mut up: Vec<String> = Vec::new();
        loop {
            if let Some(ev) = client.next_event(Duration::from_millis(100))? {
                if let Some((id, _)) = tracker.on_event(&ev.tag, &ev.data) {
                    up.push(id);
                }
                continue;
            }
            if tracker.tick(client)? {
                break;
            }
        }
        let Some(bnum) = batch_size(spec, up.len()) else {
            let _ = writeln!(self.out, "{}", bad_batch_message(spec));
            return Ok(1);
        };
        for down in tracker.missing() {
            let _ = writeln!(
                self.out,
                "Minion {down} did not respond. No job will be sent."
            );
        }
        let bnum = bnum.max(1);
        let bwait = Duration::from_secs_f64(self.a.batch_wait.max(0.0));
        let mut to_run = up.clone();
        to_run.reverse();
        let mut active: Vec<Tracker> = Vec::new();
        let mut active_count = 0usize;
        let mut waits: Vec<Instant> = Vec::new();
        let mut done = 0usize;
        let mut retcode = 0;
        while done < up.len() {
            let now = Instant::now();
            waits.retain(|w| *w > now);
            let free = bnum.saturating_sub(active_count + waits.len());
            let mut next: Vec<String> = Vec::new();
            for _ in 0..free {
                if let Some(m) = to_run.pop() {
                    next.push(m);
                }
            }
            if !next.is_empty() {
                let mut sorted = next.clone();
                sorted.sort();
                let list = pyrepr::repr(&Value::List(
                    sorted.iter().map(|s| Value::str(s.as_str())).collect(),
                ));
                let _ = writeln!(self.out, "\nExecuting run on {list}\n");
                let jid = gen_jid();
                client.subscribe(&format!("salt/job/{jid}/ret/"))?;
                let req = self.request(
                    Value::List(next.iter().map(|s| Value::str(s.as_str())).collect()),
                    "list",
                    &jid,
                );
                let reply = client.publish(&req)?;
                let expected = if reply.minions.is_empty() {
                    next.clone()
                } else {
                    reply.minions
                };
                active_count += next.len();
                active.push(Tracker::new(jid, expected, self.timeout, self.gather));
            }
            let mut parts: Vec<MinionRet> = Vec::new();
            if let Some(ev) = client.next_event(Duration::from_millis(50))? {
                for t in active.iter_mut() {
                    if let Some(r) = t.on_event(&ev.tag, &ev.data) {
                        parts.push(r);
                    }
                }
            }
            let mut still = Vec::new();
            for mut t in active.drain(..) {
                if t.tick(client)? {
                    for id in t.missing() {
                        let mut m = Map::default();
                        m.insert(k("ret"), Value::map());
                        parts.push((id, m));
                    }
                } else {
                    still.push(t);
                }
            }
            active = still;
            for (id, mut data) in parts {
                done += 1;
                active_count = active_count.saturating_sub(1);
                if !bwait.is_zero() {
                    waits.push(Instant::now() + bwait);
                }
                let rc = get_retcode(&Value::Map(data.clone()));
                if rc > retcode {
                    retcode = rc;
                }
                // Salt prints the whole return record with the minion's
                // return under its id (`retcode`, `jid` beside it).
                let ret = data.shift_remove(&k("ret")).unwrap_or(Value::Null);
                let out = data
                    .shift_remove(&k("out"))
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                data.insert(k(&id), ret);
                let text = self.printer.render(&Value::Map(data), &out, 0);
                let _ = write!(self.out, "{text}");
                let _ = self.out.flush();
            }
        }
        Ok(retcode)
    }
}

/// Run brine with `args` (argv including the program name); returns the
/// exit code.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString>>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let a = match SaltArgs::try_parse_from(&argv) {
        Ok(a) => a,
        Err(e) => return clap_error(e, &argv, out, err, "brine", USAGE),
    };
    let job = match parse_job(&a) {
        Ok(j) => j,
        Err((code, msg)) => {
            let _ = write!(err, "{msg}");
            return code;
        }
    };
    if matches!(job.fun, Value::List(_)) {
        // The local socket's PublishRequest carries one function name.
        let _ = writeln!(
            err,
            "ERROR: compound commands (fun1,fun2) are not supported by brine yet"
        );
        return 2;
    }
    let opts = match load_opts(Path::new(&a.config_dir)) {
        Ok(o) => o,
        Err(e) => {
            let _ = writeln!(err, "Error: {e}");
            return 1;
        }
    };
    let num = |key: &str, d: u64| {
        opts.get(&k(key))
            .and_then(Value::as_int)
            .map(|i| i.clamp(1, 86_400) as u64)
            .unwrap_or(d)
    };
    let timeout = match a.timeout {
        Some(t) if t > 0 => t,
        _ => num("timeout", 5),
    };
    let gather = num("gather_job_timeout", 10);
    let sock_dir = opt_path(&opts, "sock_dir", "/var/run/salt/master");
    let mut client = match LocalClient::connect(&sock_dir) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 2;
        }
    };
    let printer = Printer::new(&a, &opts);
    let mut ctx = Ctx {
        a: &a,
        job,
        printer,
        timeout: Duration::from_secs(timeout),
        gather: Duration::from_secs(gather),
        out,
        err,
    };
    let result = match a.batch.as_deref() {
        Some(spec) => ctx.run_batch(&mut client, spec),
        None => ctx.run_job(&mut client),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(ctx.err, "{e}");
            2
        }
    }
}

/// The `brine` binary's body.
pub fn main() -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run(std::env::args_os(), &mut stdout.lock(), &mut stderr.lock())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bnum() {
        assert_eq!(batch_size("3", 10), Some(3));
        assert_eq!(batch_size("10%", 10), Some(1));
        assert_eq!(batch_size("25%", 10), Some(2));
        assert_eq!(batch_size("1%", 10), Some(1));
        assert_eq!(batch_size("%50", 4), Some(2));
        assert_eq!(batch_size("x", 4), None);
    }
}
