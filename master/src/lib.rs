//! brine-master: the master daemon and its CLIs (`brine`, `brine-key`, `brine-run`).
//!
//! Not built yet: see the issue "Master and minion". The crate exists so the
//! workspace has its final shape.
