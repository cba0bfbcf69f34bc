//! `sdb` (salt/modules/sdb.py): Brine has no sdb drivers, so `sdb.get`
//! returns its argument unchanged, as Salt does for a URI whose profile is
//! not configured (and for any non-`sdb://` value).

use super::{bind, Context, ModFn};
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[("get", get)];

fn get(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("sdb.get", &["uri", "strict"], 1, false, false, args, kwargs)?;
    let uri = b.get(0, Value::Null);
    if b.opt(1).is_some_and(Value::truthy) && uri.as_str().is_some_and(|u| u.starts_with("sdb://"))
    {
        return Err(format!(
            "SDB profile not found for uri: {}",
            brine_core::output::pyrepr::str_of(&uri)
        ));
    }
    Ok(uri)
}
