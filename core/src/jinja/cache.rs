//! Per-thread caches that keep a run of many renders cheap: the configured
//! environment (filters, tests, settings) and the template values of
//! `opts`, `grains` and `pillar`, which hold hundreds of keys and are the
//! same for every SLS file of a run.
//!
//! Each render still sees pristine data, as Brine's renders always have:
//! the cached values are handed to the next render only while no render
//! wrote to them (their lists and dicts count their writes, see
//! `minijinja::value::shared_writes`) and while their source [`Value`] is
//! identical (same types, contents and key order). Salt differs: it hands
//! the same `__pillar__`/`__grains__`/`__opts__` dicts to every template of
//! a run, so a `{% do pillar.update(...) %}` shows in the files rendered
//! after it; Brine keeps renders independent, since SLS files may be
//! rendered ahead of time on another thread (`compile::prerender`).
//!
//! Nested renders (a template calling a function that renders SLS again)
//! convert their own values: the outer render holds the cached ones.

use std::cell::{Cell, RefCell};

use minijinja::value::{shared_writes, Value as MjValue};
use minijinja::Environment;

use super::convert::to_jinja_shared;
use crate::value::Value;

/// How many differently configured environments a thread keeps.
const MAX_ENVS: usize = 4;

thread_local! {
    static BASE_ENVS: RefCell<Vec<(super::EnvKey, Environment<'static>)>> =
        const { RefCell::new(Vec::new()) };
    static GLOBALS: RefCell<[Option<Slot>; 3]> = const { RefCell::new([None, None, None]) };
    static NEST: Cell<usize> = const { Cell::new(0) };
}

/// A copy of the environment configured for `key`, built once per thread.
pub(super) fn base_env(key: &super::EnvKey) -> Result<Environment<'static>, String> {
    let cached = BASE_ENVS.with(|envs| {
        envs.borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, env)| env.clone())
    });
    if let Some(env) = cached {
        return Ok(env);
    }
    let env = super::build_base_env(key)?;
    BASE_ENVS.with(|envs| {
        let mut envs = envs.borrow_mut();
        if envs.len() >= MAX_ENVS {
            envs.remove(0);
        }
        envs.push((key.clone(), env.clone()));
    });
    Ok(env)
}

/// The globals shared between the SLS renders of a thread.
#[derive(Clone, Copy)]
pub(super) enum Global {
    Opts = 0,
    Grains = 1,
    Pillar = 2,
}

struct Slot {
    /// The value `value` was converted from.
    snapshot: Value,
    /// `shared_writes()` when `value` was made: any later write may have
    /// changed it.
    writes: u64,
    value: MjValue,
}

/// The template value of `src` for `which` (maps as `OrderedDict`s when
/// `ordered`), reused from an earlier render of this thread while neither
/// its source nor the value itself has changed since.
pub(super) fn shared_global(which: Global, src: &Value, ordered: bool) -> MjValue {
    let idx = which as usize;
    let writes = shared_writes();
    let hit = GLOBALS.with(|g| {
        g.borrow()[idx]
            .as_ref()
            .filter(|s| s.writes == writes && identical(&s.snapshot, src))
            .map(|s| s.value.clone())
    });
    if let Some(v) = hit {
        return v;
    }
    let value = to_jinja_shared(src, ordered);
    let slot = Slot {
        snapshot: src.clone(),
        writes,
        value: value.clone(),
    };
    // The old slot (and the template objects it holds) is dropped outside
    // the borrow.
    let old = GLOBALS.with(|g| g.borrow_mut()[idx].replace(slot));
    drop(old);
    value
}

/// Strict sameness: equal types, contents and key order (unlike Python
/// equality, `1 == 1.0` and differently ordered dicts do not count, as
/// they render differently).
pub(super) fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| identical(x, y))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| identical(kx, ky) && identical(vx, vy))
        }
        _ => false,
    }
}

/// Counts the Jinja renders in progress on this thread while it lives.
pub(super) struct Nest {
    outer: usize,
}

impl Nest {
    pub(super) fn enter() -> Nest {
        let outer = NEST.with(|n| n.replace(n.get() + 1));
        Nest { outer }
    }
    /// Whether no other render is in progress on this thread.
    pub(super) fn is_outermost(&self) -> bool {
        self.outer == 0
    }
}

impl Drop for Nest {
    fn drop(&mut self) {
        NEST.with(|n| n.set(self.outer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_is_strict() {
        let mut a = crate::value::Map::default();
        a.insert("x".into(), Value::Int(1));
        a.insert("y".into(), Value::List(vec![Value::Float(1.0)]));
        let mut b = crate::value::Map::default();
        b.insert("y".into(), Value::List(vec![Value::Float(1.0)]));
        b.insert("x".into(), Value::Int(1));
        let (a, b) = (Value::Map(a), Value::Map(b));
        assert!(identical(&a, &a.clone()));
        // Python-equal, but ordered differently.
        assert!(!identical(&a, &b));
        assert!(!identical(&Value::Int(1), &Value::Float(1.0)));
        assert!(!identical(&Value::Bool(true), &Value::Int(1)));
        assert!(identical(&Value::Float(f64::NAN), &Value::Float(f64::NAN)));
    }

    fn same(a: &MjValue, b: &MjValue) -> bool {
        use minijinja::value::MutList;
        match (
            a.downcast_object_ref::<MutList>(),
            b.downcast_object_ref::<MutList>(),
        ) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            _ => false,
        }
    }

    #[test]
    fn shared_global_reuses_until_source_or_value_changes() {
        let src = Value::List(vec![Value::Int(1)]);
        let a = shared_global(Global::Grains, &src, false);
        let b = shared_global(Global::Grains, &src.clone(), false);
        assert!(same(&a, &b));
        let other = Value::List(vec![Value::Int(2)]);
        let c = shared_global(Global::Grains, &other, false);
        assert!(!same(&a, &c));
        let d = shared_global(Global::Grains, &other, false);
        assert!(same(&c, &d));
        // A write to the shared value: the next render gets a fresh one.
        if let Some(l) = d.downcast_object_ref::<minijinja::value::MutList>() {
            l.items_mut().push(MjValue::from(3));
        }
        let e = shared_global(Global::Grains, &other, false);
        assert!(!same(&d, &e));
        assert_eq!(e.to_string(), "[2]");
    }
}
