//! `cmd` states (salt/states/cmd.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
