//! `docker_image` states (salt/states/docker_image.py).

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[];
