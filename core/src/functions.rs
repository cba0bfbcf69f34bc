//! The `Functions` seam: how templates call `salt['mod.fun'](...)`.
//!
//! `core` never depends on the minion or master. Whoever renders supplies the
//! execution functions: the minion hands in its module registry, the master
//! the small set pillar rendering may use.

use crate::value::{Map, Value};

/// Execution functions callable from templates and the compiler.
pub trait Functions: Send + Sync {
    /// Call `fun` ("mod.fun") with positional and keyword arguments.
    /// An unknown function is an `Err` with Salt's wording.
    fn call(&self, fun: &str, args: Vec<Value>, kwargs: Map) -> Result<Value, String>;

    /// Whether `fun` exists (for `'mod.fun' in salt`).
    fn has(&self, fun: &str) -> bool;

    /// Every function name, sorted (for `salt.keys()`).
    fn names(&self) -> Vec<String>;
}

/// No functions at all.
pub struct NoFunctions;

impl Functions for NoFunctions {
    fn call(&self, fun: &str, _args: Vec<Value>, _kwargs: Map) -> Result<Value, String> {
        Err(format!("'{fun}' is not available."))
    }
    fn has(&self, _fun: &str) -> bool {
        false
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}
