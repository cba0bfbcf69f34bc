//! `group` states (salt/states/group.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
