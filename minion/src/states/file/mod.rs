//! `file` states (salt/states/file.py): managed, directory, recurse,
//! absent, copy here; the line-editing and link states (symlink, touch,
//! replace, append, prepend, line, blockreplace, comment, uncomment) in
//! [`edit`].

pub mod edit;

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "symlink",
        fun: edit::symlink,
        required: &["name", "target"],
        params: None,
    },
    StateFunction {
        name: "touch",
        fun: edit::touch,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "replace",
        fun: edit::replace,
        required: &["name", "pattern", "repl"],
        params: None,
    },
    StateFunction {
        name: "append",
        fun: edit::append,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "prepend",
        fun: edit::prepend,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "line",
        fun: edit::line,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "blockreplace",
        fun: edit::blockreplace,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "comment",
        fun: edit::comment,
        required: &["name", "regex"],
        params: None,
    },
    StateFunction {
        name: "uncomment",
        fun: edit::uncomment,
        required: &["name", "regex"],
        params: None,
    },
];
