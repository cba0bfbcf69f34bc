//! `pkg` states (salt/states/pkg.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
