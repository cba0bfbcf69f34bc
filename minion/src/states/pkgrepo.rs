//! `pkgrepo` states (salt/states/pkgrepo.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
