//! `user` states (salt/states/user.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
