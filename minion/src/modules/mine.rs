//! `mine` (salt/modules/mine.py): without a master there is no mine data.

use super::{bind, Context, ModFn};
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[("get", get)];

/// `mine.get tgt fun [tgt_type]`: `{}` (no cached mine data locally).
fn get(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind(
        "mine.get",
        &["tgt", "fun", "tgt_type", "exclude_minion"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    Ok(Value::map())
}
