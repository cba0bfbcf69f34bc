//! `mount` states (salt/states/mount.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
