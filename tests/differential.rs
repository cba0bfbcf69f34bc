//! Differential suite: each case runs through real salt-call and brine-call.
fn main() {}
