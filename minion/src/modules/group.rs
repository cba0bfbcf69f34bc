//! `group` execution functions (salt/modules/group.py, Linux/Debian flavour).

use super::ModFn;

pub const FUNCTIONS: &[(&str, ModFn)] = &[];
