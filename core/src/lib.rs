//! brine-core: the pure, I/O-light parts of Brine shared by master and minion.
//!
//! The data path reads in one direction:
//! config -> render (jinja -> yaml) -> compile (top -> highstate -> lowstate)
//! -> run (minion) -> output.
//!
//! - [`value`]: the one dynamic value type.
//! - [`config`]: minion/master configuration files, with Salt's defaults.
//! - [`yaml`]: YAML with Salt's semantics (PyYAML 1.1 + Salt's loader).
//! - [`jinja`]: the Jinja environment configured like Salt's.
//! - [`render`]: renderer pipelines (`#!jinja|yaml`, `#!json`, ...).
//! - [`matcher`]: targeting (glob, pcre, grain, compound, ...).
//! - [`compile`]: top files, pillar, SLS -> highstate -> lowstate.
//! - [`output`]: Salt's outputters (json, yaml, nested, highstate, txt).
//! - [`functions`], [`fileclient`]: the seams to the outside world.

pub mod compile;
pub mod config;
pub mod fileclient;
pub mod fsutil;
pub mod functions;
pub mod jinja;
pub mod matcher;
pub mod memory;
pub mod output;
pub mod render;
pub mod value;
pub mod wire;
pub mod yaml;

pub use value::{Map, Value};

#[doc(hidden)]
pub fn phase(name: &str) {
    static T0: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let t0 = T0.get_or_init(std::time::Instant::now);
    if std::env::var_os("BRINE_PHASES").is_some() {
        eprintln!("{:8.2} ms {name}", t0.elapsed().as_secs_f64() * 1000.0);
    }
}
