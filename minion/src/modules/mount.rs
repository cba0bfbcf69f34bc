//! `mount` execution functions (salt/modules/mount.py, Linux/Debian flavour).

use super::ModFn;

pub const FUNCTIONS: &[(&str, ModFn)] = &[];
