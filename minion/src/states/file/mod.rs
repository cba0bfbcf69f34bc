//! `file` states (salt/states/file.py): managed ([`managed`]), directory,
//! absent, exists, missing, copy ([`directory`]), recurse ([`recurse`]);
//! the line-editing and link states (symlink, touch, replace, append,
//! prepend, line, blockreplace, comment, uncomment) in [`edit`].

pub mod directory;
pub mod edit;
pub mod managed;
pub mod recurse;

use super::StateFunction;

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "managed",
        fun: managed::managed,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "recurse",
        fun: recurse::recurse,
        required: &["name", "source"],
        params: None,
    },
    StateFunction {
        name: "directory",
        fun: directory::directory,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "absent",
        fun: directory::absent,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "exists",
        fun: directory::exists,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "missing",
        fun: directory::missing,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "copy",
        fun: directory::copy,
        required: &["name", "source"],
        params: None,
    },
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
