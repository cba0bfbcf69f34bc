//! `sysctl` states (salt/states/sysctl.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
