//! `test` states (salt/states/test.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
