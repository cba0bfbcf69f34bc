//! The argument shapes the runtime checks before it calls a state
//! function, so that a value of the wrong type (a mapping where Salt
//! expects a path, a list where it expects a flag) fails that state with a
//! clear comment even in test mode, where many states return before they
//! read every argument.
//!
//! The table is deliberately permissive: a *scalar* parameter accepts
//! strings, numbers, booleans and None (Salt converts them), a *not-a-map*
//! parameter also accepts lists. Parameters whose valid values include
//! mappings (`context`, `defaults`, `env`, `stateful`, `pkgs`, ...) are not
//! listed. Where Salt would meet such a value it raises inside the state
//! ("An exception occurred in this state"), so failing is what Salt does
//! too, minus the traceback.

use super::StateCall;
use brine_core::value::Value;

/// What a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A string, number, boolean or None.
    Scalar,
    /// Anything but a mapping (a scalar or a list).
    NotMap,
}

/// The shape of `param` for a state of `module`, if Brine checks it.
pub fn shape(module: &str, param: &str) -> Option<Shape> {
    use Shape::*;
    let s = match (module, param) {
        (
            "cmd",
            "cwd" | "runas" | "shell" | "timeout" | "ignore_timeout" | "umask" | "stdin"
            | "template" | "source" | "args" | "python_shell" | "use_vt",
        ) => Scalar,
        ("cmd", "success_retcodes" | "success_stdout" | "success_stderr") => NotMap,
        (
            "file",
            "user"
            | "group"
            | "mode"
            | "dir_mode"
            | "file_mode"
            | "template"
            | "makedirs"
            | "replace"
            | "create"
            | "skip_verify"
            | "contents_pillar"
            | "contents_grains"
            | "contents_newline"
            | "contents_delimiter"
            | "allow_empty"
            | "source_hash"
            | "clean"
            | "exclude_pat"
            | "include_pat"
            | "maxdepth"
            | "include_empty"
            | "keep_symlinks"
            | "force_symlinks"
            | "target"
            | "atomic"
            | "disallow_copy_and_unlink"
            | "atime"
            | "mtime"
            | "ignore_whitespace"
            | "header"
            | "preserve"
            | "subdir",
        ) => Scalar,
        ("file", "contents" | "text" | "source" | "source_hashes" | "recurse") => NotMap,
        ("pkg", "version" | "refresh" | "skip_verify" | "fromrepo" | "hold") => Scalar,
        ("pkgrepo", "ppa" | "copr" | "file" | "key_url" | "aptkey" | "clean_file" | "refresh") => {
            Scalar
        }
        ("service", "enable" | "sig" | "init_delay" | "reload" | "provider" | "timeout") => Scalar,
        ("group", "local" | "gid" | "system") => Scalar,
        ("group", "members" | "addusers" | "delusers") => NotMap,
        (
            "user",
            "local" | "uid" | "gid" | "home" | "shell" | "system" | "createhome" | "fullname"
            | "roomnumber" | "workphone" | "homephone" | "other" | "password" | "empty_password"
            | "loginclass" | "usergroup" | "unique" | "purge" | "force",
        ) => Scalar,
        ("user", "groups" | "optional_groups" | "remove_groups") => NotMap,
        (
            "mount",
            "user" | "device" | "fstype" | "mkmnt" | "persist" | "dump" | "pass_num" | "config",
        ) => Scalar,
        ("mount", "opts" | "extra_mount_ignore_fs_keys") => NotMap,
        _ => return None,
    };
    Some(s)
}

/// The comment for the first argument of `call` that has the wrong shape.
pub fn check(call: &StateCall) -> Option<String> {
    let module = call
        .low
        .get(&Value::from("state"))
        .and_then(Value::as_str)?;
    for (key, value) in call.low {
        let Some(param) = key.as_str() else {
            continue;
        };
        let bad = match (shape(module, param), value) {
            (Some(Shape::Scalar), Value::List(_) | Value::Map(_)) => Some("a single value"),
            (Some(Shape::NotMap), Value::Map(_)) => Some("a string or a list"),
            _ => None,
        };
        if let Some(want) = bad {
            return Some(call.type_error(param, want, value));
        }
    }
    None
}
