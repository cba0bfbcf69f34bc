//! Execution modules: one file per Salt module.
