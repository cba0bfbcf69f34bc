//! `docker` execution functions (salt/modules/docker.py, Linux/Debian flavour).

use super::ModFn;

pub const FUNCTIONS: &[(&str, ModFn)] = &[];
