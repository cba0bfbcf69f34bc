//! Top files, pillar, SLS -> highstate -> lowstate, as `salt/state.py` does.
//!
//! The pieces, in the order data flows through them:
//! - [`top`]: gather, merge and match top files (`BaseHighState.get_tops`,
//!   `merge_tops`, `top_matches`, `verify_tops`).
//! - [`sls`]: render SLS files with their includes, extends and excludes
//!   into one high data map (`render_state`, `render_highstate`).
//! - [`highstate`]: whole-highstate passes (`reconcile_extend`,
//!   `verify_high`, `requisite_in`, `apply_exclude`).
//! - [`lowstate`]: high data -> ordered low chunks (`compile_high_data`,
//!   `order_chunks`).
//! - [`pillar`] and [`merge`]: the pillar compiler and `dictupdate` merges.

pub mod highstate;
pub mod lowstate;
pub mod merge;
pub mod pillar;
pub mod prerender;
pub mod sls;
pub mod top;
pub mod util;

use crate::fileclient::FileClient;
use crate::functions::Functions;
use crate::value::{Map, Value};

pub use pillar::compile_pillar;

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

/// Read an option with Salt's default.
pub(crate) fn opt<'v>(opts: &'v Value, key: &str) -> Option<&'v Value> {
    opts.get(key).filter(|v| !v.is_null())
}

/// A string option, or its default.
pub(crate) fn opt_str(opts: &Value, key: &str, default: &str) -> String {
    match opt(opts, key) {
        Some(Value::Str(s)) => s.clone(),
        Some(other) => util::pstr(other),
        None => default.to_string(),
    }
}

/// A boolean option (Python truthiness), or its default.
pub(crate) fn opt_bool(opts: &Value, key: &str, default: bool) -> bool {
    opts.get(key).map(Value::truthy).unwrap_or(default)
}

impl Compiler<'_> {
    /// A fresh per-call state (the `BaseHighState` instance of Salt).
    fn hs(&self, saltenv: Option<String>) -> sls::HighState<'_> {
        sls::HighState::new(self, saltenv)
    }

    /// `opts['saltenv']` for highstate calls (None when unset).
    fn opts_saltenv(&self) -> Option<String> {
        match opt(self.opts, "saltenv") {
            Some(Value::Str(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    /// `state.show_top`: `{saltenv: [sls, ...]}` for this minion.
    pub fn top(&self) -> Result<Value, Errors> {
        let hs = self.hs(self.opts_saltenv());
        let top = hs.get_top()?;
        let errors = top::verify_tops(&top);
        if !errors.is_empty() {
            return Err(errors);
        }
        let matches = hs.top_matches(top)?;
        Ok(matches_to_value(&matches))
    }

    /// `state.show_highstate`.
    pub fn highstate(&self) -> Result<Value, Errors> {
        let mut hs = self.hs(self.opts_saltenv());
        let top = hs.get_top()?;
        let mut errors = top::verify_tops(&top);
        let matches = hs.top_matches(top)?;
        let (high, errs) = hs.render_highstate(&matches);
        errors.extend(errs);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Value::Map(high))
    }

    /// `state.show_lowstate`: the ordered list of low chunks.
    pub fn lowstate(&self) -> Result<Value, Errors> {
        let mut hs = self.hs(self.opts_saltenv());
        let top = hs.get_top()?;
        let matches = hs.top_matches(top)?;
        crate::phase("top");
        let (high, errors) = hs.render_highstate(&matches);
        crate::phase("rendered");
        let r = self.high_to_low(high, errors);
        crate::phase("compiled");
        r
    }

    /// The second half of `compile_low_chunks`: extend, verify,
    /// requisite_in, exclude, then chunks.
    pub fn high_to_low(&self, high: Map, mut errors: Errors) -> Result<Value, Errors> {
        let (high, ext_errors) = highstate::reconcile_extend(high, false);
        errors.extend(ext_errors);
        errors.extend(highstate::verify_high(&high));
        let disabled = opt(self.opts, "disabled_requisites").cloned();
        let (high, req_errors) = highstate::requisite_in(high, disabled.as_ref());
        errors.extend(req_errors);
        let high = highstate::apply_exclude(high);
        if !errors.is_empty() {
            return Err(errors);
        }
        // The high data is not needed afterwards: move it into the chunks.
        Ok(Value::List(lowstate::compile_high_data_owned(high)))
    }

    /// `state.show_sls mods saltenv=...`: the highstate of those SLS.
    pub fn sls(&self, mods: &[String], saltenv: &str) -> Result<Value, Errors> {
        self.sls_high(mods, saltenv).map(Value::Map)
    }

    /// `state.show_low_sls`: the low chunks of [`Compiler::sls`].
    pub fn low_sls(&self, mods: &[String], saltenv: &str) -> Result<Value, Errors> {
        let high = self.sls_high(mods, saltenv)?;
        Ok(Value::List(lowstate::compile_high_data_owned(high)))
    }

    /// The verified highstate of `mods` in `saltenv`.
    fn sls_high(&self, mods: &[String], saltenv: &str) -> Result<Map, Errors> {
        let mut hs = self.hs(Some(saltenv.to_string()));
        let matches = vec![(
            saltenv.to_string(),
            mods.iter().cloned().map(Value::Str).collect(),
        )];
        let (high, mut errors) = hs.render_highstate(&matches);
        errors.extend(highstate::verify_high(&high));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(high)
    }
}

/// The low chunks to run and the high data they were compiled from.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    /// The verified high data after `requisite_in` and excludes.
    pub high: Map,
    /// The ordered low chunks.
    pub chunks: Vec<Value>,
}

/// What `state.highstate` / `state.apply` (no args) should run.
#[derive(Debug, Clone, PartialEq)]
pub enum HighstatePlan {
    /// The ordered low chunks.
    Chunks(Vec<Value>),
    /// No top file entry matched: Salt returns the `no_|-states_|-states_|-None`
    /// result with comment [`NO_MATCHES_COMMENT`].
    NoMatches,
    /// Matches, but no states: comment [`NO_STATES_COMMENT`].
    NoStates,
}

/// Comment of Salt's `no_|-states_|-states_|-None` result when nothing matched.
pub const NO_MATCHES_COMMENT: &str =
    "No Top file or master_tops data matches found. Please see master log for details.";
/// Comment of Salt's `no_|-states_|-states_|-None` result without states.
pub const NO_STATES_COMMENT: &str = "No states found for this minion";
/// First line of the error list when the pillar has `_errors`.
pub const PILLAR_FAILED: &str = "Pillar failed to render with the following messages:";

impl Compiler<'_> {
    /// The pillar's `_errors`, if any. `state.show_*` refuse to run then
    /// (Salt raises "Pillar failed to render" with these as info).
    pub fn pillar_errors(&self) -> Option<Vec<String>> {
        match self.pillar.get("_errors") {
            Some(Value::List(l)) => Some(l.iter().map(util::pstr).collect()),
            _ => None,
        }
    }

    /// `State.call_high` up to the chunks: extend, verify (stopping on
    /// errors), requisite_in, exclude, compile.
    pub fn call_high_chunks(&self, high: Map) -> Result<Vec<Value>, Errors> {
        self.call_high_plan(high).map(|p| p.chunks)
    }

    /// [`Compiler::call_high_chunks`], keeping the final high data (the
    /// runtime reads `onfail_stop` in it).
    pub fn call_high_plan(&self, high: Map) -> Result<RunPlan, Errors> {
        let (high, mut errors) = highstate::reconcile_extend(high, false);
        errors.extend(highstate::verify_high(&high));
        if !errors.is_empty() {
            return Err(errors);
        }
        let disabled = opt(self.opts, "disabled_requisites").cloned();
        let (high, req_errors) = highstate::requisite_in(high, disabled.as_ref());
        let high = highstate::apply_exclude(high);
        if !req_errors.is_empty() {
            return Err(req_errors);
        }
        let chunks = lowstate::compile_high_data(&high);
        Ok(RunPlan { high, chunks })
    }

    /// `state.sls mods saltenv=... exclude=...` up to the chunks to run.
    pub fn sls_chunks(
        &self,
        mods: &[String],
        saltenv: &str,
        exclude: &[Value],
    ) -> Result<Vec<Value>, Errors> {
        self.sls_plan(mods, saltenv, exclude).map(|p| p.chunks)
    }

    /// [`Compiler::sls_chunks`], keeping the final high data.
    pub fn sls_plan(
        &self,
        mods: &[String],
        saltenv: &str,
        exclude: &[Value],
    ) -> Result<RunPlan, Errors> {
        if let Some(errs) = self.pillar_errors() {
            return Err(std::iter::once(PILLAR_FAILED.to_string())
                .chain(errs)
                .collect());
        }
        let mut hs = self.hs(Some(saltenv.to_string()));
        let matches = vec![(
            saltenv.to_string(),
            mods.iter().cloned().map(Value::Str).collect(),
        )];
        let (mut high, errors) = hs.render_highstate(&matches);
        if !errors.is_empty() {
            return Err(errors);
        }
        add_exclude(&mut high, exclude);
        self.call_high_plan(high)
    }

    /// `state.highstate` (`call_highstate`) up to the chunks to run.
    pub fn highstate_chunks(&self, exclude: &[Value]) -> Result<HighstatePlan, Errors> {
        self.highstate_plan(exclude).map(|(plan, _)| plan)
    }

    /// [`Compiler::highstate_chunks`], with the final high data (empty when
    /// there is nothing to run).
    pub fn highstate_plan(&self, exclude: &[Value]) -> Result<(HighstatePlan, Map), Errors> {
        let mut hs = self.hs(self.opts_saltenv());
        let top = hs.get_top()?;
        let mut err = top::verify_tops(&top);
        let matches = hs.top_matches(top)?;
        if matches.is_empty() {
            return Ok((HighstatePlan::NoMatches, Map::default()));
        }
        let mut high = Map::default();
        if let Some(errs) = self.pillar_errors() {
            err.push(PILLAR_FAILED.to_string());
            err.extend(errs);
        } else {
            let (h, errors) = hs.render_highstate(&matches);
            high = h;
            add_exclude(&mut high, exclude);
            err.extend(errors);
        }
        if !err.is_empty() {
            return Err(err);
        }
        if high.is_empty() {
            return Ok((HighstatePlan::NoStates, Map::default()));
        }
        self.call_high_plan(high)
            .map(|p| (HighstatePlan::Chunks(p.chunks), p.high))
    }
}

/// Append `exclude=` items to `__exclude__`.
fn add_exclude(high: &mut Map, exclude: &[Value]) {
    if exclude.is_empty() {
        return;
    }
    let entry = high
        .entry(util::k("__exclude__"))
        .or_insert_with(|| Value::List(vec![]));
    if let Value::List(l) = entry {
        l.extend(exclude.iter().cloned());
    }
}

/// Top matches (`{saltenv: [sls, ...]}`, in order) as a map value.
pub fn matches_to_value(matches: &top::Matches) -> Value {
    let mut m = Map::default();
    for (env, list) in matches {
        m.insert(Value::Str(env.clone()), Value::List(list.clone()));
    }
    Value::Map(m)
}

#[cfg(test)]
mod tests;
