//! `file` execution functions for editing files in place and links
//! (salt/modules/file.py): replace, line, blockreplace, append, prepend,
//! comment_line, touch, symlink, is_link, readlink, search, contains...
//! Registered under the `file` module name beside [`super::file`].

use super::ModFn;

pub const FUNCTIONS: &[(&str, ModFn)] = &[];
