//! Rendering the top-level SLS files of a highstate ahead of time, on a
//! second thread, while the compiler works through them in Salt's order.
//!
//! Salt renders the SLS files of a highstate one after the other. Brine
//! renders them in the same order on the compiling thread, but a helper
//! thread renders the files from the other end of the list, so both cores
//! work.
//! A file rendered ahead is used only when that cannot change the result:
//!
//! - the ahead-of-time render may call only read-only execution functions
//!   ([`is_pure`]): the first call of any other function aborts it, and the
//!   compiling thread renders that file itself when its turn comes, so the
//!   call happens once, in Salt's order;
//! - once the compiling thread has called a function that is not read-only
//!   (it may change what later renders see: a file, a grain, the mine),
//!   no result rendered ahead is used any more and the helper stops;
//! - a render that failed is redone in order, so the error is the one the
//!   sequential render gives.
//!
//! Each file is rendered exactly once when nothing is aborted; an aborted or
//! discarded render only costs time.

use crate::functions::Functions;
use crate::value::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

/// Execution functions that only read (the minion's state, the pillar, the
/// grains, the file system, the network): calling them ahead of Salt's order
/// cannot change any other render's result, or this run's.
pub fn is_pure(fun: &str) -> bool {
    matches!(
        fun,
        "pillar.get"
            | "pillar.item"
            | "pillar.items"
            | "pillar.raw"
            | "pillar.keys"
            | "pillar.fetch"
            | "pillar.data"
            | "grains.get"
            | "grains.item"
            | "grains.items"
            | "grains.ls"
            | "grains.filter_by"
            | "config.get"
            | "config.option"
            | "config.dot_vals"
            | "config.valid_fileproto"
            | "test.ping"
            | "test.echo"
            | "test.true"
            | "test.false"
            | "file.file_exists"
            | "file.directory_exists"
            | "file.basename"
            | "file.dirname"
            | "file.join"
            | "file.is_link"
            | "network.ip_addrs"
            | "network.ip_addrs6"
            | "defaults.merge"
            | "defaults.deepcopy"
            | "defaults.update"
            | "defaults.get"
            | "slsutil.merge"
            | "slsutil.update"
            | "match.glob"
            | "match.grain"
            | "match.pillar"
            | "match.compound"
            | "match.list"
            | "match.pcre"
            | "match.ipcidr"
            | "match.filter_by"
            | "hashutil.base64_b64encode"
            | "hashutil.base64_b64decode"
            | "hashutil.md5_digest"
            | "hashutil.sha256_digest"
            | "hashutil.sha512_digest"
    )
}

/// What a template calling `salt[...]` would have done that aborted an
/// ahead-of-time render.
pub(crate) const ABORTED: &str = "<brine: render ahead of time aborted>";

/// The functions a render sees, with its calls of functions that are not
/// read-only counted (and, ahead of time, refused).
pub(crate) struct Tracked<'a> {
    pub inner: &'a dyn Functions,
    pub impure: &'a AtomicU64,
    pub ahead: bool,
}

impl Functions for Tracked<'_> {
    fn call(&self, fun: &str, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
        if !is_pure(fun) {
            self.impure.fetch_add(1, Ordering::SeqCst);
            if self.ahead {
                return Err(ABORTED.to_string());
            }
        }
        self.inner.call(fun, args, kwargs)
    }
    fn has(&self, fun: &str) -> bool {
        self.inner.has(fun)
    }
    fn names(&self) -> Vec<String> {
        self.inner.names()
    }
}

/// One file rendered ahead: the render's result and the YAML aliases shared
/// between top-level IDs (see [`crate::yaml::take_shared_top`]).
pub(crate) struct Rendered {
    pub result: Result<Value, String>,
    pub shared_top: Vec<(String, String)>,
}

enum Slot {
    /// Nobody has started it.
    Waiting,
    /// The helper is rendering it.
    Rendering,
    /// The helper's result, waiting to be used.
    Done(Rendered),
    /// The compiling thread renders it itself (or it has been used).
    Taken,
}

/// The files to render ahead and their state, shared by both threads.
pub(crate) struct Ahead {
    /// `(saltenv, sls)` in the order the compiler will ask for them.
    order: Vec<(String, String)>,
    index: HashMap<(String, String), usize>,
    slots: Mutex<Vec<Slot>>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Ahead {
    pub fn new(order: Vec<(String, String)>) -> Ahead {
        let mut index = HashMap::new();
        for (i, key) in order.iter().enumerate() {
            index.entry(key.clone()).or_insert(i);
        }
        let slots = (0..order.len()).map(|_| Slot::Waiting).collect();
        Ahead {
            order,
            index,
            slots: Mutex::new(slots),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }

    /// The helper thread: render the waiting files until told to stop,
    /// from the last one backwards, so that the compiling thread (which goes
    /// forwards) finds them done and waits at most once, where the two meet.
    /// `render` renders one `(saltenv, sls)` with only read-only functions;
    /// `None` means it was aborted or failed.
    pub fn work(&self, render: impl Fn(&str, &str) -> Option<Rendered>) {
        // The compiling thread renders the first file itself.
        for i in (1..self.order.len()).rev() {
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            {
                let Ok(mut slots) = self.slots.lock() else {
                    return;
                };
                if !matches!(slots[i], Slot::Waiting) {
                    continue;
                }
                slots[i] = Slot::Rendering;
            }
            let (saltenv, sls) = &self.order[i];
            let out = render(saltenv, sls);
            let Ok(mut slots) = self.slots.lock() else {
                return;
            };
            slots[i] = match out {
                Some(r) => Slot::Done(r),
                None => Slot::Taken,
            };
            self.changed.notify_all();
        }
    }

    /// The compiling thread's turn for `(saltenv, sls)`: the result
    /// rendered ahead if there is a usable one (waiting for the helper if it
    /// is rendering that file now), else `None` and the caller renders.
    /// `impure` is whether the compiling thread has called a function that
    /// is not read-only so far.
    pub fn take(&self, saltenv: &str, sls: &str, impure: bool) -> Option<Rendered> {
        if impure {
            self.stop.store(true, Ordering::SeqCst);
        }
        let i = *self.index.get(&(saltenv.to_string(), sls.to_string()))?;
        let mut slots = self.slots.lock().ok()?;
        loop {
            match std::mem::replace(&mut slots[i], Slot::Taken) {
                Slot::Rendering => {
                    slots[i] = Slot::Rendering;
                    slots = self.changed.wait(slots).ok()?;
                }
                Slot::Done(r) if !impure => {
                    USED.fetch_add(1, Ordering::Relaxed);
                    return Some(r);
                }
                _ => return None,
            }
        }
    }

    /// Tell the helper to stop after the file it is rendering.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// How many renders done ahead have been used, in this process.
static USED: AtomicU64 = AtomicU64::new(0);

/// How many files rendered ahead of their turn have been used so far in this
/// process (for tests and diagnostics).
pub fn used_ahead() -> u64 {
    USED.load(Ordering::Relaxed)
}

thread_local! {
    /// Highstate renders in progress on this thread (a template may compile
    /// another highstate, e.g. through `state.show_sls`).
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks a highstate render in progress on this thread for as long as it
/// lives; [`Nesting::outermost`] tells whether it is the only one.
pub(crate) struct Nesting;

impl Nesting {
    pub fn enter() -> Nesting {
        DEPTH.with(|d| d.set(d.get() + 1));
        Nesting
    }

    pub fn outermost(&self) -> bool {
        DEPTH.with(|d| d.get() == 1)
    }
}

impl Drop for Nesting {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Compiler;
    use crate::fileclient::LocalFileClient;
    use indexmap::IndexMap;
    use std::path::PathBuf;

    /// Functions that log their calls; `cmd.run` creates the file named by
    /// its argument, `file.file_exists` checks one.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
    }

    impl Functions for Recorder {
        fn call(&self, fun: &str, args: Vec<Value>, _kwargs: Map) -> Result<Value, String> {
            let arg = args
                .first()
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Ok(mut c) = self.calls.lock() {
                c.push(format!("{fun} {arg}"));
            }
            match fun {
                "cmd.run" => {
                    std::fs::write(&arg, "x").map_err(|e| e.to_string())?;
                    Ok(Value::from(""))
                }
                "file.file_exists" => Ok(Value::Bool(std::path::Path::new(&arg).exists())),
                "pillar.get" => Ok(Value::from("p")),
                _ => Err(format!("'{fun}' is not available.")),
            }
        }
        fn has(&self, fun: &str) -> bool {
            matches!(fun, "cmd.run" | "file.file_exists" | "pillar.get")
        }
        fn names(&self) -> Vec<String> {
            vec![]
        }
    }

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            static N: AtomicU64 = AtomicU64::new(0);
            let p = std::env::temp_dir().join(format!(
                "brine-prerender-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&p).expect("scratch dir");
            Scratch(p)
        }
        fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A tree of `n` SLS files in the top file; file `i` gets `body(i)`.
    fn tree(n: usize, body: impl Fn(usize) -> String) -> Scratch {
        let dir = Scratch::new();
        let mut top = String::from("base:\n  '*':\n");
        for i in 0..n {
            top.push_str(&format!("    - f{i}\n"));
            std::fs::write(dir.path().join(format!("f{i}.sls")), body(i)).expect("write");
        }
        std::fs::write(dir.path().join("top.sls"), top).expect("write");
        dir
    }

    fn lowstate(dir: &std::path::Path, functions: &dyn Functions) -> Value {
        let mut roots: IndexMap<String, Vec<PathBuf>> = IndexMap::new();
        roots.insert("base".into(), vec![dir.to_path_buf()]);
        let files = LocalFileClient::new(roots);
        let opts = Value::from_json(&serde_json::json!({
            "id": "m1",
            "state_top": "salt://top.sls",
            "file_roots": {"base": [dir.to_string_lossy()]},
        }));
        let empty = Value::map();
        let c = Compiler {
            opts: &opts,
            grains: &empty,
            pillar: &empty,
            functions,
            file_client: &files,
        };
        c.lowstate().expect("compiles")
    }

    #[test]
    fn calls_that_change_things_happen_once_in_salts_order() {
        let scratch = Scratch::new();
        let flag = scratch.path().join("flag");
        let flag = flag.to_string_lossy().to_string();
        // f3 creates the flag; every file reports whether it exists. In
        // Salt's order f0-f2 see no flag and f3-f7 see it, whatever the
        // helper thread rendered ahead.
        let dir = tree(8, |i| {
            let make = if i == 3 {
                format!("{{% set _ = salt['cmd.run']('{flag}') %}}\n")
            } else {
                String::new()
            };
            format!(
                "{make}s{i}:\n  test.nop:\n    - seen: {{{{ salt['file.file_exists']('{flag}') }}}}\n    - p: {{{{ salt['pillar.get']('x') }}}}\n"
            )
        });
        let rec = Recorder::default();
        let low = lowstate(dir.path(), &rec);
        let Value::List(chunks) = low else {
            panic!("not a list: {low:?}")
        };
        let seen: Vec<bool> = chunks
            .iter()
            .map(|c| c.get("seen").is_some_and(Value::truthy))
            .collect();
        assert_eq!(seen, [false, false, false, true, true, true, true, true]);
        let calls = rec.calls.lock().expect("lock").clone();
        let runs: Vec<&String> = calls.iter().filter(|c| c.starts_with("cmd.run")).collect();
        assert_eq!(runs.len(), 1, "{calls:?}");
    }

    #[test]
    fn results_match_the_sequential_render() {
        let dir = tree(12, |i| {
            format!(
                "{{% for j in range({i}) %}}\ns{i}_{{{{ j }}}}:\n  test.nop:\n    - p: {{{{ salt['pillar.get']('x') }}}}\n{{% endfor %}}\n"
            )
        });
        let rec = Recorder::default();
        // The helper thread starts with the second file while this one
        // renders the first, so some files are normally taken from it; try
        // a few times in case this machine is too busy to schedule it.
        let before = used_ahead();
        let mut ahead = lowstate(dir.path(), &rec);
        for _ in 0..10 {
            if used_ahead() > before {
                break;
            }
            ahead = lowstate(dir.path(), &rec);
        }
        assert!(used_ahead() > before, "no file was rendered ahead");
        // The same compile nested inside a highstate render on this thread
        // renders in order only.
        let _outer = Nesting::enter();
        let in_order = lowstate(dir.path(), &rec);
        assert_eq!(ahead.to_json(), in_order.to_json());
        let Value::List(chunks) = ahead else {
            panic!("not a list")
        };
        assert_eq!(chunks.len(), (0..12).sum::<usize>());
    }

    #[test]
    fn only_read_only_functions_run_ahead() {
        assert!(is_pure("pillar.get"));
        assert!(is_pure("grains.filter_by"));
        assert!(!is_pure("cmd.run"));
        assert!(!is_pure("grains.setval"));
        assert!(!is_pure("log.warning"));
        assert!(!is_pure("state.show_sls"));
    }
}
