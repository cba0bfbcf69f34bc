//! `service` execution functions (salt/modules/service.py, Linux/Debian flavour).

use super::ModFn;

pub const FUNCTIONS: &[(&str, ModFn)] = &[];
