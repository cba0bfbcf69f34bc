//! Top files, pillar, SLS -> highstate -> lowstate, as `salt/state.py` does.

use crate::fileclient::FileClient;
use crate::functions::Functions;
use crate::value::Value;

/// Error strings in Salt's wording, returned as salt-call prints them
/// (a JSON list of strings).
pub type Errors = Vec<String>;

/// Everything compiling a minion's states needs.
pub struct Compiler<'a> {
    /// The minion's opts (a map, with Salt's defaults filled in).
    pub opts: &'a Value,
    pub grains: &'a Value,
    /// The compiled pillar (see [`compile_pillar`]).
    pub pillar: &'a Value,
    pub functions: &'a dyn Functions,
    /// Serves `file_roots`.
    pub file_client: &'a dyn FileClient,
}

impl Compiler<'_> {
    /// `state.show_top`: `{saltenv: [sls, ...]}` for this minion.
    pub fn top(&self) -> Result<Value, Errors> {
        Err(vec!["compiler not implemented".into()])
    }
    /// `state.show_highstate`.
    pub fn highstate(&self) -> Result<Value, Errors> {
        Err(vec!["compiler not implemented".into()])
    }
    /// `state.show_lowstate`: the ordered list of low chunks.
    pub fn lowstate(&self) -> Result<Value, Errors> {
        Err(vec!["compiler not implemented".into()])
    }
    /// `state.show_sls mods saltenv=...`: the highstate of those SLS.
    pub fn sls(&self, mods: &[String], saltenv: &str) -> Result<Value, Errors> {
        let _ = (mods, saltenv);
        Err(vec!["compiler not implemented".into()])
    }
    /// `state.show_low_sls`.
    pub fn low_sls(&self, mods: &[String], saltenv: &str) -> Result<Value, Errors> {
        let _ = (mods, saltenv);
        Err(vec!["compiler not implemented".into()])
    }
}

/// Compile the pillar for a minion from `pillar_roots` (served by
/// `pillar_files`): pillar top, SLS rendering with grains, include, merge.
/// Errors end up under the `_errors` key, as in Salt.
pub fn compile_pillar(
    opts: &Value,
    grains: &Value,
    functions: &dyn Functions,
    pillar_files: &dyn FileClient,
) -> Value {
    let _ = (opts, grains, functions, pillar_files);
    Value::map()
}
