//! Minion and master configuration, read as Salt reads it.
