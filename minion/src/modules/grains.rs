//! `grains` (salt/modules/grains.py): items, item, get, ls, filter_by.

use super::{bind, traverse, Context, ModFn};
use brine_core::config::{dictupdate, fnmatch};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("items", items),
    ("item", item),
    ("get", get),
    ("ls", ls),
    ("filter_by", filter_by),
    ("has_value", has_value),
];

fn items(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("grains.items", &["sanitize"], 0, false, false, args, kwargs)?;
    Ok(ctx.grains().clone())
}

fn item(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("grains.item", &[], 0, true, true, args, kwargs)?;
    let default = b
        .kwargs
        .get(&Value::from("default"))
        .cloned()
        .unwrap_or(Value::from(""));
    let delimiter = b
        .kwargs
        .get(&Value::from("delimiter"))
        .map(str_of)
        .unwrap_or(":".into());
    let mut ret = Map::default();
    for arg in b.rest {
        let v = traverse(ctx.grains(), &arg, &delimiter).unwrap_or(default.clone());
        ret.insert(arg, v);
    }
    Ok(Value::Map(ret))
}

fn get(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "grains.get",
        &["key", "default", "delimiter", "ordered"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let delimiter = b.str(2).unwrap_or(":".into());
    Ok(traverse(ctx.grains(), &b.get(0, Value::Null), &delimiter)
        .unwrap_or(b.get(1, Value::from(""))))
}

fn ls(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("grains.ls", &[], 0, false, false, args, kwargs)?;
    let mut keys: Vec<Value> = ctx
        .grains()
        .as_map()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort_by_key(str_of);
    Ok(Value::List(keys))
}

fn filter_by(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "grains.filter_by",
        &["lookup_dict", "grain", "merge", "default", "base"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let lookup = b.get(0, Value::Null);
    let grain = b.get(1, Value::from("os_family"));
    let default = b.get(3, Value::from("default"));
    salt_filter_by(&lookup, &grain, ctx.grains(), b.opt(2), &default, b.opt(4))
}

/// `salt.utils.data.filter_by`: pick the entry of `lookup_dict` whose key
/// glob-matches the value at `lookup` in `traverse_data`, then lay it over
/// `base` and `merge` under it.
pub fn salt_filter_by(
    lookup_dict: &Value,
    lookup: &Value,
    traverse_data: &Value,
    merge: Option<&Value>,
    default: &Value,
    base: Option<&Value>,
) -> Result<Value, String> {
    let Value::Map(ld) = lookup_dict else {
        return Err(format!(
            "'{}' object has no attribute 'get'",
            lookup_dict.type_name()
        ));
    };
    let val =
        traverse(traverse_data, &Value::from(str_of(lookup)), ":").unwrap_or(Value::List(vec![]));
    let each_list = match val {
        Value::List(l) => l,
        other => vec![other],
    };
    let mut ret: Option<Value> = None;
    for each in &each_list {
        let test_each = str_of(each);
        if let Some((_, v)) = ld.iter().find(|(key, _)| fnmatch(&test_each, &str_of(key))) {
            ret = Some(v.clone()).filter(|v| !v.is_null());
        }
        if ret.is_some() {
            break;
        }
    }
    // `lookup_dict.get(default)`; a None value counts as missing.
    if ret.is_none() {
        ret = ld.get(default).cloned().filter(|v| !v.is_null());
    }
    if let Some(base) = base.filter(|b| b.truthy()) {
        if let Some(base_values) = ld.get(base) {
            match (&ret, base_values) {
                (None, _) => ret = Some(base_values.clone()),
                (Some(r), Value::Map(bv)) => {
                    let Value::Map(rm) = r else {
                        return Err(
                            "filter_by default and look-up values must both be dictionaries."
                                .into(),
                        );
                    };
                    let mut merged = bv.clone();
                    dictupdate(&mut merged, rm, false);
                    ret = Some(Value::Map(merged));
                }
                _ => {}
            }
        }
    }
    if let Some(m) = merge.filter(|m| m.truthy()) {
        let Value::Map(mm) = m else {
            return Err("filter_by merge argument must be a dictionary.".into());
        };
        match ret {
            None => ret = Some(m.clone()),
            Some(Value::Map(ref mut r)) => dictupdate(r, mm, false),
            Some(other) => {
                return Err(format!(
                    "'{}' object has no attribute 'keys'",
                    other.type_name()
                ));
            }
        }
    }
    Ok(ret.unwrap_or(Value::Null))
}

/// `grains.has_value key`: whether the (`:`-separated) key exists.
fn has_value(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("grains.has_value", &["key"], 1, false, false, args, kwargs)?;
    Ok(Value::Bool(
        traverse(ctx.grains(), &b.get(0, Value::Null), ":").is_some(),
    ))
}
