//! Line-editing and link `file` states (salt/states/file.py): symlink,
//! touch, replace, append, prepend, line, blockreplace, comment, uncomment.

use crate::states::{Ret, StateCall};

fn todo(call: &StateCall, fun: &str) -> Result<Ret, String> {
    let _ = call;
    Err(format!("file.{fun} is not implemented yet"))
}

pub fn symlink(call: &StateCall) -> Result<Ret, String> {
    todo(call, "symlink")
}
pub fn touch(call: &StateCall) -> Result<Ret, String> {
    todo(call, "touch")
}
pub fn replace(call: &StateCall) -> Result<Ret, String> {
    todo(call, "replace")
}
pub fn append(call: &StateCall) -> Result<Ret, String> {
    todo(call, "append")
}
pub fn prepend(call: &StateCall) -> Result<Ret, String> {
    todo(call, "prepend")
}
pub fn line(call: &StateCall) -> Result<Ret, String> {
    todo(call, "line")
}
pub fn blockreplace(call: &StateCall) -> Result<Ret, String> {
    todo(call, "blockreplace")
}
pub fn comment(call: &StateCall) -> Result<Ret, String> {
    todo(call, "comment")
}
pub fn uncomment(call: &StateCall) -> Result<Ret, String> {
    todo(call, "uncomment")
}
