//! `pkg` execution functions (salt/modules/pkg.py, Linux/Debian flavour).

use super::ModFn;

pub const FUNCTIONS: &[(&str, ModFn)] = &[];
