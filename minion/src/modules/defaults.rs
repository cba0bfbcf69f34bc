//! `defaults` (salt/modules/defaults.py): merge, deepcopy, update.
//!
//! Salt's `in_place=True` also mutates the caller's dict: these functions
//! return the merged value and the Jinja bridge (`core/src/jinja/globals.rs`,
//! `in_place_dest`) copies it back into the template's dict.

use super::{bind, Context, ModFn};
use brine_core::config::dictupdate;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] =
    &[("merge", merge), ("deepcopy", deepcopy), ("update", update)];

fn update_values(dest: Value, src: &Value, merge_lists: bool) -> Result<Value, String> {
    match (dest, src) {
        (Value::Map(mut d), Value::Map(s)) => {
            dictupdate(&mut d, s, merge_lists);
            Ok(Value::Map(d))
        }
        _ => Err("Cannot update using non-dict types in dictupdate.update()".into()),
    }
}

fn merge(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "defaults.merge",
        &["dest", "src", "merge_lists", "in_place", "convert_none"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let convert_none = b.get(4, Value::Bool(true)).truthy();
    let in_place = b.get(3, Value::Bool(true)).truthy();
    let mut src = b.get(1, Value::Null);
    if src.is_null() && convert_none {
        src = Value::map();
    }
    let mut dest = b.get(0, Value::Null);
    if dest.is_null() && convert_none {
        if in_place {
            return Err("Can't perform in-place merge into NoneType".into());
        }
        dest = Value::map();
    }
    update_values(dest, &src, b.get(2, Value::Bool(false)).truthy())
}

fn deepcopy(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "defaults.deepcopy",
        &["source"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    Ok(b.get(0, Value::Null))
}

fn update(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "defaults.update",
        &[
            "dest",
            "defaults",
            "merge_lists",
            "in_place",
            "convert_none",
        ],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let merge_lists = b.get(2, Value::Bool(true)).truthy();
    let in_place = b.get(3, Value::Bool(true)).truthy();
    let convert_none = b.get(4, Value::Bool(true)).truthy();
    let mut dest = b.get(0, Value::Null);
    if dest.is_null() {
        if in_place || !convert_none {
            return Err("Can't perform in-place update into NoneType".into());
        }
        dest = Value::map();
    }
    let mut defaults = b.get(1, Value::Null);
    if defaults.is_null() && convert_none {
        defaults = Value::map();
    }
    let Value::Map(nodes) = dest else {
        return Err(format!(
            "'{}' object has no attribute 'items'",
            dest.type_name()
        ));
    };
    let mut out = Map::default();
    for (name, vars) in nodes {
        let vars = if vars.is_null() && convert_none {
            Value::map()
        } else {
            vars
        };
        out.insert(name, update_values(defaults.clone(), &vars, merge_lists)?);
    }
    Ok(Value::Map(out))
}
