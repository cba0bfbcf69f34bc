//! Core grains computed from this machine, equal to what Salt reports.
