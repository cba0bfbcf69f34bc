//! Template globals: the `salt` function mapping (`salt['pillar.get'](...)`,
//! `salt.pillar.get(...)`, `'mod.fun' in salt`) and Salt's extra globals
//! (`raise`, `ifelse`, `odict`, `show_full_context`).

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value as MjValue, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::convert::{from_jinja, to_jinja};
use super::{Shared, RAISE_ERROR, SALT_FN_ERROR};
use crate::value::{Map, Value};

/// Split call arguments into positional values and keyword arguments.
pub fn split_args(args: &[MjValue]) -> (Vec<Value>, Map) {
    let mut pos: Vec<Value> = Vec::new();
    let mut kwargs = Map::default();
    for a in args {
        if a.is_kwargs() {
            if let Some(pairs) = a.as_object().and_then(|o| o.try_iter_pairs()) {
                for (k, v) in pairs {
                    kwargs.insert(from_jinja(&k), from_jinja(&v));
                }
            }
        } else {
            pos.push(from_jinja(a));
        }
    }
    (pos, kwargs)
}

/// Call an execution function through the `Functions` seam.
pub(crate) fn call_function(
    shared: &Shared,
    fun: &str,
    args: &[MjValue],
) -> Result<MjValue, Error> {
    let (pos, kwargs) = split_args(args);
    let in_place = in_place_dest(fun, args, &kwargs);
    match shared.functions().call(fun, pos, kwargs) {
        Ok(v) => match in_place {
            Some(dest) => Ok(write_back(dest, &v)),
            None => Ok(to_jinja(&v)),
        },
        Err(e) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{SALT_FN_ERROR}{e}"),
        )),
    }
}

/// The caller's dict that `defaults.merge` / `defaults.update` merge into
/// (their `in_place=True` default): the first positional argument or the
/// `dest` keyword, when it is a template dict.
fn in_place_dest(fun: &str, args: &[MjValue], kwargs: &Map) -> Option<MjValue> {
    if fun != "defaults.merge" && fun != "defaults.update" {
        return None;
    }
    if kwargs
        .get(&Value::from("in_place"))
        .is_some_and(|v| !v.truthy())
    {
        return None;
    }
    let mut positional = args.iter().filter(|a| !a.is_kwargs());
    let dest = match positional.next() {
        Some(d) => d.clone(),
        None => args
            .iter()
            .find(|a| a.is_kwargs())
            .and_then(|kw| kw.get_item(&MjValue::from("dest")).ok())
            .filter(|d| !d.is_undefined())?,
    };
    dest.downcast_object_ref::<minijinja::value::MutMap>()?;
    Some(dest)
}

/// Python mutates the caller's dict in place and returns it: copy the
/// merged result into `dest` (the template's shared dict) and return it.
fn write_back(dest: MjValue, merged: &Value) -> MjValue {
    let fresh = to_jinja(merged);
    if let (Some(d), Some(f)) = (
        dest.downcast_object_ref::<minijinja::value::MutMap>(),
        fresh.downcast_object_ref::<minijinja::value::MutMap>(),
    ) {
        let entries: Vec<(MjValue, MjValue)> = f
            .map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut m = d.map_mut();
        m.clear();
        m.extend(entries);
        drop(m);
        return dest;
    }
    fresh
}

/// The `salt` global.
struct SaltObject {
    shared: Arc<Shared>,
}

/// `salt.mod` (for `salt.mod.fun(...)`).
struct SaltModule {
    shared: Arc<Shared>,
    module: String,
}

/// One callable execution function.
struct SaltFunction {
    shared: Arc<Shared>,
    name: String,
}

impl fmt::Debug for SaltObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<salt functions>")
    }
}
impl fmt::Debug for SaltModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<salt module {}>", self.module)
    }
}
impl fmt::Debug for SaltFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<function {}>", self.name)
    }
}

impl Object for SaltObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let key = key.as_str()?;
        if key.contains('.') {
            if !self.shared.functions().has(key) {
                return None;
            }
            Some(MjValue::from_object(SaltFunction {
                shared: self.shared.clone(),
                name: key.to_string(),
            }))
        } else {
            let prefix = format!("{key}.");
            if !self
                .shared
                .functions()
                .names()
                .iter()
                .any(|n| n.starts_with(&prefix))
            {
                return None;
            }
            Some(MjValue::from_object(SaltModule {
                shared: self.shared.clone(),
                module: key.to_string(),
            }))
        }
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(
            self.shared
                .functions()
                .names()
                .into_iter()
                .map(MjValue::from)
                .collect(),
        )
    }
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<salt.loader.lazy.LazyLoader object>")
    }
}

impl Object for SaltModule {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let name = format!("{}.{}", self.module, key.as_str()?);
        if !self.shared.functions().has(&name) {
            return None;
        }
        Some(MjValue::from_object(SaltFunction {
            shared: self.shared.clone(),
            name,
        }))
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &State,
        method: &str,
        args: &[MjValue],
    ) -> Result<MjValue, Error> {
        let name = format!("{}.{}", self.module, method);
        if !self.shared.functions().has(&name) {
            return Err(Error::from(ErrorKind::UnknownMethod));
        }
        call_function(&self.shared, &name, args)
    }
}

impl Object for SaltFunction {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn call(self: &Arc<Self>, _state: &State, args: &[MjValue]) -> Result<MjValue, Error> {
        call_function(&self.shared, &self.name, args)
    }
}

/// The `salt` mapping for a template.
pub(crate) fn salt_object(shared: &Arc<Shared>) -> MjValue {
    MjValue::from_object(SaltObject {
        shared: shared.clone(),
    })
}

/// `raise('msg')`: fail the render with Salt's `TemplateError` text.
fn jinja_raise(msg: MjValue) -> Result<MjValue, Error> {
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!("{RAISE_ERROR}{msg}"),
    ))
}

/// `odict(...)`: an ordered dict, like `dict(...)`.
fn odict(args: &[MjValue]) -> Result<MjValue, Error> {
    let mut out = Map::default();
    for a in args {
        if a.is_kwargs() {
            if let Some(pairs) = a.as_object().and_then(|o| o.try_iter_pairs()) {
                for (k, v) in pairs {
                    out.insert(from_jinja(&k), from_jinja(&v));
                }
            }
        } else if a.kind() == ValueKind::Map {
            if let Value::Map(m) = from_jinja(a) {
                out.extend(m);
            }
        } else if let Ok(items) = a.try_iter() {
            for item in items {
                let pair = from_jinja(&item);
                if let Some([k, v]) = pair.as_list().map(Vec::as_slice) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(super::convert::to_jinja_ordered(&Value::Map(out)))
}

/// The names [`register_static`] defines.
pub(crate) const STATIC_NAMES: [&str; 3] = ["raise", "odict", "show_full_context"];

/// Register Salt's extra globals that need no render: [`STATIC_NAMES`].
pub(crate) fn register_static(env: &mut Environment) {
    env.add_function("raise", jinja_raise);
    env.add_function("odict", |args: minijinja::value::Rest<MjValue>| {
        odict(&args)
    });
    env.add_function("show_full_context", |state: &State| -> MjValue {
        let mut out = Map::default();
        for name in state.known_variables() {
            let v = state.lookup(&name).unwrap_or_default();
            if matches!(v.kind(), ValueKind::Plain) {
                continue;
            }
            out.insert(Value::Str(name.to_string()), from_jinja(&v));
        }
        to_jinja(&Value::Map(out))
    });
}

/// Register Salt's extra globals that call the render's functions.
pub(crate) fn register(env: &mut Environment, shared: &Arc<Shared>) {
    let shared = shared.clone();
    env.add_function("ifelse", move |args: minijinja::value::Rest<MjValue>| {
        call_function(&shared, "match.ifelse", &args)
    });
}
