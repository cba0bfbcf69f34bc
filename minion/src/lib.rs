//! brine-minion: grains, execution modules and (later) the state runtime.

pub mod agent;
pub mod grains;
pub mod modules;
pub mod runtime;
pub mod states;
