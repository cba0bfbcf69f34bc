//! `file` states (salt/states/file.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
