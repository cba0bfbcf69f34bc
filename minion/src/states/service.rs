//! `service` states (salt/states/service.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
