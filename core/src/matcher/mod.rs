//! Targeting: does a target expression match this minion?
