//! `cron` states (salt/states/cron.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
