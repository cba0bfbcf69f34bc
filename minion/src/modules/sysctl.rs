//! `sysctl` execution functions (salt/modules/sysctl.py, Linux/Debian flavour).

use super::ModFn;

pub const FUNCTIONS: &[(&str, ModFn)] = &[];
