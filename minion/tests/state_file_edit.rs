//! The line-editing and link `file` states (symlink, touch, replace, line,
//! blockreplace, comment, uncomment, append, prepend) against real Salt
//! 3007.8. Every scenario gets its own directory under two scratch roots,
//! one for Salt and one for Brine, seeded with the same files. All
//! scenarios run in four phases: test=True, a real run, a second real run
//! (idempotence) and test=True again. Salt runs each phase as one
//! `salt-call --local state.apply` of an SLS holding every scenario's
//! state; Brine runs both through `brine-call state.apply` the same way
//! and by calling the state functions in process (on a third root).
//! After each phase the states' `{name, changes, result, comment}` (paths
//! of the root replaced by `{ROOT}`) and the scenario directories (type,
//! mode, content or link target of every entry) must be identical.
//!
//! Skipped, with a notice, when no salt-call is found (`SALT_CALL` or the
//! workspace `.salt-venv`).

use brine_core::fileclient::LocalFileClient;
use brine_core::value::{Map, Value};
use brine_minion::modules::Context;
use brine_minion::states;
use serde_json::{json, Value as J};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One scenario: its id, the files to create under its directory `{D}`
/// (`"->target"` makes a symlink, a trailing `/` a directory), the state
/// function and its arguments (`{D}` is replaced by the directory).
struct Scenario {
    id: &'static str,
    files: &'static [(&'static str, &'static str)],
    fun: &'static str,
    args: J,
}

fn sc(
    id: &'static str,
    files: &'static [(&'static str, &'static str)],
    fun: &'static str,
    args: J,
) -> Scenario {
    Scenario {
        id,
        files,
        fun,
        args,
    }
}

const KV: &[(&str, &str)] = &[("f", "foo=1\nbar=2\n# baz=3\n")];
const ABC: &[(&str, &str)] = &[("f", "a\nb\nc\n")];
const BLOCK: &[(&str, &str)] = &[(
    "f",
    "head\n#-- start managed zone --\nold\n#-- end managed zone --\ntail\n",
)];

fn scenarios() -> Vec<Scenario> {
    vec![
        // touch
        sc("touch_new", &[], "file.touch", json!({"name": "{D}/new"})),
        sc(
            "touch_existing",
            &[("f", "x\n")],
            "file.touch",
            json!({"name": "{D}/f"}),
        ),
        sc(
            "touch_relative",
            &[],
            "file.touch",
            json!({"name": "relative/f"}),
        ),
        sc(
            "touch_no_dir",
            &[],
            "file.touch",
            json!({"name": "{D}/nodir/f"}),
        ),
        sc(
            "touch_makedirs",
            &[],
            "file.touch",
            json!({"name": "{D}/a/b/f", "makedirs": true}),
        ),
        // symlink
        sc(
            "symlink_new",
            &[("target", "t\n")],
            "file.symlink",
            json!({"name": "{D}/link", "target": "{D}/target"}),
        ),
        sc(
            "symlink_change",
            &[("t1", "1"), ("t2", "2"), ("link", "->t1")],
            "file.symlink",
            json!({"name": "{D}/link", "target": "{D}/t2"}),
        ),
        sc(
            "symlink_relative_target",
            &[],
            "file.symlink",
            json!({"name": "{D}/link", "target": "../elsewhere"}),
        ),
        sc(
            "symlink_file_in_way",
            &[("link", "data\n")],
            "file.symlink",
            json!({"name": "{D}/link", "target": "{D}/t"}),
        ),
        sc(
            "symlink_dir_in_way",
            &[("link/", "")],
            "file.symlink",
            json!({"name": "{D}/link", "target": "{D}/t"}),
        ),
        sc(
            "symlink_force",
            &[("link", "data\n")],
            "file.symlink",
            json!({"name": "{D}/link", "target": "{D}/t", "force": true}),
        ),
        sc(
            "symlink_no_parent",
            &[],
            "file.symlink",
            json!({"name": "{D}/sub/link", "target": "/etc/hostname"}),
        ),
        sc(
            "symlink_makedirs",
            &[],
            "file.symlink",
            json!({"name": "{D}/sub/deeper/link", "target": "/etc/hostname", "makedirs": true}),
        ),
        sc(
            "symlink_bad_user",
            &[],
            "file.symlink",
            json!({"name": "{D}/link", "target": "/x", "user": "no-such-user-h2b"}),
        ),
        // replace
        sc(
            "replace_basic",
            KV,
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^foo=.*$", "repl": "foo=42"}),
        ),
        sc(
            "replace_groups",
            KV,
            "file.replace",
            json!({"name": "{D}/f", "pattern": "(\\w+)=(\\d)", "repl": "\\2:\\1", "count": 1}),
        ),
        sc(
            "replace_named_group",
            KV,
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^(?P<k>bar)=\\d+", "repl": "\\g<k>=x"}),
        ),
        sc(
            "replace_no_match",
            KV,
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^nothing", "repl": "x"}),
        ),
        sc(
            "replace_append",
            KV,
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^qux=.*", "repl": "qux=7", "append_if_not_found": true}),
        ),
        sc(
            "replace_prepend_nfc",
            &[("f", "a=1")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^b=.*", "repl": "b=2", "prepend_if_not_found": true, "not_found_content": "# b is 2"}),
        ),
        sc(
            "replace_append_no_eol",
            &[("f", "a=1")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^b=.*", "repl": "b=2", "append_if_not_found": true}),
        ),
        sc(
            "replace_flags_list",
            KV,
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^FOO", "repl": "FOO", "flags": ["IGNORECASE", "MULTILINE"]}),
        ),
        sc(
            "replace_flags_int_dotall",
            &[("f", "x\nstart\n1\nend\ny\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "start.*end", "repl": "gone", "flags": 24}),
        ),
        sc(
            "replace_missing",
            &[],
            "file.replace",
            json!({"name": "{D}/nope", "pattern": "a", "repl": "b"}),
        ),
        sc(
            "replace_missing_ignored",
            &[],
            "file.replace",
            json!({"name": "{D}/nope", "pattern": "a", "repl": "b", "ignore_if_missing": true}),
        ),
        sc(
            "replace_no_show_changes",
            KV,
            "file.replace",
            json!({"name": "{D}/f", "pattern": "bar", "repl": "BAR", "show_changes": false}),
        ),
        sc(
            "replace_no_backup",
            KV,
            "file.replace",
            json!({"name": "{D}/f", "pattern": "bar", "repl": "BAR", "backup": false}),
        ),
        sc(
            "replace_no_eol",
            &[("f", "a\nb")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "b", "repl": "c"}),
        ),
        sc(
            "replace_literal_brace",
            &[("f", "x = {a}\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "\\{a}", "repl": "{b}"}),
        ),
        sc(
            "replace_via_symlink",
            &[("real", "one\n"), ("link", "->real")],
            "file.replace",
            json!({"name": "{D}/link", "pattern": "one", "repl": "two"}),
        ),
        sc(
            "replace_keeps_mode",
            &[("f", "secret=1\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "1", "repl": "2"}),
        ),
        // line
        sc(
            "line_ensure_after",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "new", "mode": "ensure", "after": "^a$"}),
        ),
        sc(
            "line_ensure_before",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "new", "mode": "ensure", "before": "c"}),
        ),
        sc(
            "line_ensure_between",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "new", "mode": "ensure", "after": "a", "before": "c"}),
        ),
        sc(
            "line_replace",
            &[("f", "a\n  b = 1\nc\n")],
            "file.line",
            json!({"name": "{D}/f", "content": "b = 2", "mode": "replace", "match": "b ="}),
        ),
        sc(
            "line_delete",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "b", "mode": "delete"}),
        ),
        sc(
            "line_insert_start",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "top", "mode": "insert", "location": "start"}),
        ),
        sc(
            "line_insert_end",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "bottom", "mode": "insert", "location": "end"}),
        ),
        sc(
            "line_insert_after_indent",
            &[("f", "x:\n    y: 1\nz\n")],
            "file.line",
            json!({"name": "{D}/f", "content": "w: 2", "mode": "insert", "after": "y: 1"}),
        ),
        sc(
            "line_insert_before",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "pre-c", "mode": "insert", "before": "^c"}),
        ),
        sc(
            "line_insert_nothing",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "z", "mode": "insert"}),
        ),
        sc(
            "line_no_mode",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "z"}),
        ),
        sc(
            "line_no_content",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "mode": "ensure"}),
        ),
        sc(
            "line_missing_file",
            &[],
            "file.line",
            json!({"name": "{D}/nope", "content": "z", "mode": "ensure", "after": "a"}),
        ),
        sc(
            "line_create",
            &[],
            "file.line",
            json!({"name": "{D}/new", "content": "z", "mode": "insert", "location": "start", "create": true}),
        ),
        sc(
            "line_no_show_changes",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "B", "mode": "replace", "match": "^b", "show_changes": false}),
        ),
        // blockreplace
        sc(
            "block_replace",
            BLOCK,
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "new 1\nnew 2"}),
        ),
        sc(
            "block_same",
            BLOCK,
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "old\n"}),
        ),
        sc(
            "block_append",
            ABC,
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "x", "append_if_not_found": true}),
        ),
        sc(
            "block_prepend_custom",
            &[("f", "a\nb")],
            "file.blockreplace",
            json!({"name": "{D}/f", "marker_start": "# BEGIN", "marker_end": "# END", "content": "x\ny\n", "prepend_if_not_found": true}),
        ),
        sc(
            "block_no_markers",
            ABC,
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "x"}),
        ),
        sc(
            "block_unterminated",
            &[("f", "a\n#-- start managed zone --\nb\n")],
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "x"}),
        ),
        sc(
            "block_insert_after",
            ABC,
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "x", "insert_after_match": "^b"}),
        ),
        // comment / uncomment
        sc(
            "comment_basic",
            &[("f", "foo 1\nbar\nfoo 2\n")],
            "file.comment",
            json!({"name": "{D}/f", "regex": "^foo"}),
        ),
        sc(
            "comment_already",
            &[("f", "#foo\nbar\n")],
            "file.comment",
            json!({"name": "{D}/f", "regex": "^foo"}),
        ),
        sc(
            "comment_missing",
            &[("f", "bar\n")],
            "file.comment",
            json!({"name": "{D}/f", "regex": "^foo"}),
        ),
        sc(
            "comment_ignore_missing",
            &[("f", "bar\n")],
            "file.comment",
            json!({"name": "{D}/f", "regex": "^foo", "ignore_missing": true}),
        ),
        sc(
            "comment_char_nobackup",
            &[("f", "a=1\nb=2\n")],
            "file.comment",
            json!({"name": "{D}/f", "regex": "^b=2$", "char": ";", "backup": false}),
        ),
        sc(
            "uncomment_basic",
            &[("f", "#foo 1\n# foo 2\nbar\n")],
            "file.uncomment",
            json!({"name": "{D}/f", "regex": "foo"}),
        ),
        sc(
            "uncomment_already",
            &[("f", "foo\n")],
            "file.uncomment",
            json!({"name": "{D}/f", "regex": "^foo"}),
        ),
        sc(
            "uncomment_missing",
            &[("f", "bar\n")],
            "file.uncomment",
            json!({"name": "{D}/f", "regex": "foo"}),
        ),
        // append / prepend
        sc(
            "append_string",
            &[("f", "a\n")],
            "file.append",
            json!({"name": "{D}/f", "text": "b"}),
        ),
        sc(
            "append_list",
            &[("f", "a")],
            "file.append",
            json!({"name": "{D}/f", "text": ["b", "c d", "a"]}),
        ),
        sc(
            "append_whitespace",
            &[("f", "x   =  1\n")],
            "file.append",
            json!({"name": "{D}/f", "text": "x = 1"}),
        ),
        sc(
            "append_multiline",
            &[("f", "")],
            "file.append",
            json!({"name": "{D}/f", "text": "l1\nl2\n"}),
        ),
        sc(
            "append_new_file",
            &[],
            "file.append",
            json!({"name": "{D}/new", "text": "hello"}),
        ),
        sc(
            "append_makedirs",
            &[],
            "file.append",
            json!({"name": "{D}/x/y/new", "text": "hello", "makedirs": true}),
        ),
        sc(
            "prepend_list",
            &[("f", "body\n")],
            "file.prepend",
            json!({"name": "{D}/f", "text": ["h1", "h2"]}),
        ),
        sc(
            "prepend_present",
            &[("f", "h1\nbody\n")],
            "file.prepend",
            json!({"name": "{D}/f", "text": "h1"}),
        ),
        sc(
            "prepend_header",
            &[("f", "h1\nbody\n")],
            "file.prepend",
            json!({"name": "{D}/f", "text": ["h0", "h1"], "header": true}),
        ),
        // the file keeps its owner and mode (seeded nobody:nogroup 0640)
        sc(
            "replace_owner",
            ABC,
            "file.replace",
            json!({"name": "{D}/f", "pattern": "b", "repl": "B"}),
        ),
        sc(
            "line_owner",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "B", "mode": "replace", "match": "b"}),
        ),
        sc(
            "block_owner",
            ABC,
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "x", "append_if_not_found": true}),
        ),
        sc(
            "comment_owner",
            ABC,
            "file.comment",
            json!({"name": "{D}/f", "regex": "b"}),
        ),
        sc(
            "uncomment_owner",
            &[("f", "#a\n")],
            "file.uncomment",
            json!({"name": "{D}/f", "regex": "a"}),
        ),
        sc(
            "append_owner",
            ABC,
            "file.append",
            json!({"name": "{D}/f", "text": "d"}),
        ),
        sc(
            "prepend_owner",
            ABC,
            "file.prepend",
            json!({"name": "{D}/f", "text": "z"}),
        ),
        // source templates (salt://, jinja)
        sc(
            "append_source",
            &[("f", "a\n")],
            "file.append",
            json!({"name": "{D}/f", "source": "salt://edit_src.txt"}),
        ),
        sc(
            "append_sources_missing",
            &[("f", "a\n")],
            "file.append",
            json!({"name": "{D}/f", "sources": ["salt://edit_src.txt", "salt://nope.txt"]}),
        ),
        sc(
            "append_source_and_sources",
            &[("f", "a\n")],
            "file.append",
            json!({"name": "{D}/f", "source": "salt://edit_src.txt", "sources": ["salt://edit_src.txt"]}),
        ),
        sc(
            "prepend_source",
            &[("f", "a\n")],
            "file.prepend",
            json!({"name": "{D}/f", "source": "salt://edit_src.txt", "template": "jinja"}),
        ),
        sc(
            "block_source",
            ABC,
            "file.blockreplace",
            json!({"name": "{D}/f", "source": "salt://edit_block.txt", "append_if_not_found": true}),
        ),
        // edits through a symlink
        sc(
            "append_via_link",
            &[("real", "a\n"), ("link", "->real")],
            "file.append",
            json!({"name": "{D}/link", "text": "b"}),
        ),
        sc(
            "prepend_via_link",
            &[("real", "a\n"), ("link", "->real")],
            "file.prepend",
            json!({"name": "{D}/link", "text": "b"}),
        ),
        sc(
            "block_via_link",
            &[("real", "a\n"), ("link", "->real")],
            "file.blockreplace",
            json!({"name": "{D}/link", "content": "b", "append_if_not_found": true}),
        ),
        sc(
            "line_via_link",
            &[("real", "a\n"), ("link", "->real")],
            "file.line",
            json!({"name": "{D}/link", "content": "b", "mode": "ensure", "after": "a"}),
        ),
        sc(
            "comment_via_link",
            &[("real", "a\n"), ("link", "->real")],
            "file.comment",
            json!({"name": "{D}/link", "regex": "a"}),
        ),
        // line endings, unicode, regex corners
        sc(
            "replace_crlf",
            &[("f", "a=1\r\nb=2\r\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^a=1$", "repl": "a=2"}),
        ),
        sc(
            "replace_crlf_append_found",
            &[("f", "a=1\r\nb=2\r\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^b=9", "repl": "b=2", "append_if_not_found": true}),
        ),
        sc(
            "replace_count2",
            &[("f", "foo boo zoo\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "o", "repl": "0", "count": 2}),
        ),
        sc(
            "replace_backslash_literal",
            &[("f", "path=x\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "x", "repl": "C:\\new\\1", "backslash_literal": true}),
        ),
        sc(
            "replace_int_repl",
            &[("f", "n=1\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "1", "repl": 5}),
        ),
        sc(
            "replace_unicode_dot",
            &[("f", "café=1\nthé=2\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "th.=2", "repl": "tea=2"}),
        ),
        sc(
            "replace_unicode_literal",
            &[("f", "café=1\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "café", "repl": "coffee"}),
        ),
        sc(
            "replace_empty_file_append",
            &[("f", "")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "^x=.*", "repl": "x=1", "append_if_not_found": true}),
        ),
        sc(
            "replace_dollar",
            &[("f", "a\nb\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "$", "repl": ";"}),
        ),
        sc(
            "replace_star_empty",
            &[("f", "abxd")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "x*", "repl": "-"}),
        ),
        sc(
            "replace_class_escapes",
            &[("f", "k = [v]\t# c\n")],
            "file.replace",
            json!({"name": "{D}/f", "pattern": "\\s*#.*$|\\[(\\w)\\]", "repl": "<\\1>"}),
        ),
        sc(
            "line_crlf",
            &[("f", "a\r\nb\r\n")],
            "file.line",
            json!({"name": "{D}/f", "content": "new", "mode": "ensure", "after": "a"}),
        ),
        sc(
            "line_insert_end_no_eol",
            &[("f", "a\nb")],
            "file.line",
            json!({"name": "{D}/f", "content": "c", "mode": "insert", "location": "end"}),
        ),
        sc(
            "line_delete_dups",
            &[("f", "b\na\nb\n")],
            "file.line",
            json!({"name": "{D}/f", "content": "b", "mode": "delete"}),
        ),
        sc(
            "line_replace_absent",
            ABC,
            "file.line",
            json!({"name": "{D}/f", "content": "z", "mode": "replace", "match": "^zz"}),
        ),
        sc(
            "line_ensure_two_after",
            &[("f", "a\nx\na\n")],
            "file.line",
            json!({"name": "{D}/f", "content": "n", "mode": "ensure", "after": "a"}),
        ),
        sc(
            "block_crlf",
            &[(
                "f",
                "h\r\n#-- start managed zone --\r\nold\r\n#-- end managed zone --\r\n",
            )],
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "new"}),
        ),
        sc(
            "block_no_show_changes",
            BLOCK,
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "x", "show_changes": false}),
        ),
        sc(
            "block_no_newline_no_backup",
            BLOCK,
            "file.blockreplace",
            json!({"name": "{D}/f", "content": "x", "append_newline": false, "backup": false}),
        ),
        sc(
            "block_marker_suffix",
            &[("f", "a\n// BEGIN x\nold\nstuff // END x trailing\nz\n")],
            "file.blockreplace",
            json!({"name": "{D}/f", "marker_start": "// BEGIN x", "marker_end": "// END x", "content": "new\n"}),
        ),
        sc(
            "comment_dollar",
            &[("f", "bar\nbarbar\n")],
            "file.comment",
            json!({"name": "{D}/f", "regex": "^bar$"}),
        ),
        sc(
            "comment_group",
            &[("f", "foo 1\nbar 2\nbaz 3\n")],
            "file.comment",
            json!({"name": "{D}/f", "regex": "^(foo|bar) "}),
        ),
        sc(
            "comment_indented",
            &[("f", "  foo\n")],
            "file.comment",
            json!({"name": "{D}/f", "regex": "foo"}),
        ),
        sc(
            "uncomment_char",
            &[("f", ";x=1\n;;y=2\n")],
            "file.uncomment",
            json!({"name": "{D}/f", "regex": "[xy]=", "char": ";"}),
        ),
        sc(
            "append_no_text",
            &[("f", "a\n")],
            "file.append",
            json!({"name": "{D}/f"}),
        ),
        sc(
            "append_regex_chars",
            &[("f", "axb\n")],
            "file.append",
            json!({"name": "{D}/f", "text": "a.b", "ignore_whitespace": false}),
        ),
        sc(
            "append_special_chars",
            &[("f", "a\n")],
            "file.append",
            json!({"name": "{D}/f", "text": ["x = [1, 2] # (c) $HOME", "path: C:\\dir"]}),
        ),
        sc(
            "prepend_header_same",
            &[("f", "h1\nbody")],
            "file.prepend",
            json!({"name": "{D}/f", "text": "h1", "header": true}),
        ),
        sc(
            "prepend_new_file",
            &[],
            "file.prepend",
            json!({"name": "{D}/new", "text": "top"}),
        ),
        sc(
            "touch_dir",
            &[("d/", "")],
            "file.touch",
            json!({"name": "{D}/d"}),
        ),
        sc(
            "touch_mtime",
            &[("f", "")],
            "file.touch",
            json!({"name": "{D}/f", "mtime": 1700000000, "atime": 1700000000}),
        ),
        sc(
            "symlink_relative_present",
            &[("t1", "1"), ("link", "->t1")],
            "file.symlink",
            json!({"name": "{D}/link", "target": "t1"}),
        ),
        sc(
            "symlink_broken_force",
            &[("link", "->nowhere")],
            "file.symlink",
            json!({"name": "{D}/link", "target": "{D}/other", "force": true}),
        ),
        sc(
            "symlink_owner",
            &[],
            "file.symlink",
            json!({"name": "{D}/link", "target": "/tmp", "user": "nobody"}),
        ),
    ]
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn salt_call() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SALT_CALL") {
        return Some(PathBuf::from(p));
    }
    let p = workspace().join(".salt-venv/bin/salt-call");
    p.exists().then_some(p)
}

fn brine_call() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_brine-call"))
}

/// Replace `{D}` in every string of `v`.
fn subst(v: &J, d: &str) -> J {
    match v {
        J::String(s) => J::String(s.replace("{D}", d)),
        J::Array(a) => J::Array(a.iter().map(|x| subst(x, d)).collect()),
        J::Object(o) => J::Object(o.iter().map(|(k, x)| (k.clone(), subst(x, d))).collect()),
        other => other.clone(),
    }
}

/// A scratch root with a minion config, file_roots and one dir per scenario.
struct Root {
    base: PathBuf,
}

impl Root {
    fn new(base: PathBuf, list: &[Scenario]) -> Root {
        let _ = std::fs::remove_dir_all(&base);
        for sub in ["conf", "srv", "pillar", "var", "data"] {
            std::fs::create_dir_all(base.join(sub)).expect("mkdir");
        }
        let b = base.display();
        let conf = format!(
            "file_client: local\nroot_dir: {b}/var\ncachedir: {b}/var/cache\npki_dir: {b}/var/pki\n\
             sock_dir: {b}/var/sock\nlog_file: {b}/var/log\nlog_level_logfile: quiet\n\
             file_roots:\n  base:\n    - {b}/srv\npillar_roots:\n  base:\n    - {b}/pillar\n"
        );
        std::fs::write(base.join("conf/minion"), conf).expect("conf");
        std::fs::write(base.join("srv/edit_src.txt"), "from {{ 40 + 2 }}\nsecond\n").expect("src");
        std::fs::write(
            base.join("srv/edit_block.txt"),
            "b1 {{ 'x' | upper }}\nb2\n",
        )
        .expect("src");
        for s in list {
            let d = base.join("data").join(s.id);
            std::fs::create_dir_all(&d).expect("mkdir");
            for (rel, content) in s.files {
                let p = d.join(rel.trim_end_matches('/'));
                if rel.ends_with('/') {
                    std::fs::create_dir_all(&p).expect("mkdir");
                } else if let Some(t) = content.strip_prefix("->") {
                    std::os::unix::fs::symlink(t, &p).expect("symlink");
                } else {
                    std::fs::write(&p, content).expect("write");
                }
            }
            if s.id.ends_with("_owner") && d.join("f").exists() {
                std::os::unix::fs::chown(d.join("f"), Some(65534), Some(65534)).expect("chown");
                std::fs::set_permissions(d.join("f"), std::fs::Permissions::from_mode(0o640))
                    .expect("chmod");
            }
            if s.id == "replace_keeps_mode" {
                std::fs::set_permissions(d.join("f"), std::fs::Permissions::from_mode(0o600))
                    .expect("chmod");
            }
        }
        // The SLS: one state per scenario, id = scenario id.
        let mut sls = serde_json::Map::new();
        for s in list {
            let dir = self_dir(&base, s.id);
            let args = subst(&s.args, &dir);
            let items: Vec<J> = args
                .as_object()
                .map(|o| o.iter().map(|(k, v)| json!({ k: v })).collect())
                .unwrap_or_default();
            sls.insert(s.id.to_string(), json!({ s.fun: items }));
        }
        std::fs::write(base.join("srv/edit.sls"), J::Object(sls).to_string()).expect("sls");
        Root { base }
    }

    fn conf(&self) -> String {
        self.base.join("conf").display().to_string()
    }
}

fn self_dir(base: &Path, id: &str) -> String {
    base.join("data").join(id).display().to_string()
}

/// `{id: {name, changes, result, comment}}` from a state.apply JSON output.
fn results_of(out: &J, root: &str) -> std::collections::BTreeMap<String, J> {
    let mut m = std::collections::BTreeMap::new();
    if let Some(o) = out.get("local").and_then(J::as_object) {
        for (tag, r) in o {
            let id = tag.split("_|-").nth(1).unwrap_or(tag).to_string();
            // An exception in a state: Salt shows the traceback, Brine the
            // exception's message alone; compare the message.
            let mut comment = r.get("comment").cloned().unwrap_or(J::Null);
            if let Some(c) = comment.as_str() {
                if c.starts_with("An exception occurred in this state: Traceback") {
                    let last = c.trim_end().lines().last().unwrap_or("");
                    let msg = last.split_once(": ").map(|x| x.1).unwrap_or(last);
                    comment = J::String(msg.to_string());
                }
            }
            let keep = json!({
                "name": r.get("name"),
                "changes": r.get("changes"),
                "result": r.get("result"),
                "comment": comment,
            });
            m.insert(id, normalize(&keep, root));
        }
    }
    m
}

fn normalize(v: &J, root: &str) -> J {
    match v {
        J::String(s) => J::String(s.replace(root, "{ROOT}")),
        J::Array(a) => J::Array(a.iter().map(|x| normalize(x, root)).collect()),
        J::Object(o) => J::Object(
            o.iter()
                .map(|(k, x)| (k.replace(root, "{ROOT}"), normalize(x, root)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn run_salt(salt: &Path, root: &Root, test: bool) -> std::collections::BTreeMap<String, J> {
    let mut cmd = Command::new(salt);
    cmd.args([
        "--local",
        "-c",
        &root.conf(),
        "--out",
        "json",
        "state.apply",
        "edit",
    ]);
    if test {
        cmd.arg("test=True");
    }
    let out = cmd.output().expect("run salt-call");
    let j: J = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "salt-call output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    results_of(&j, &root.base.display().to_string())
}

fn run_brine_call(root: &Root, test: bool) -> std::collections::BTreeMap<String, J> {
    let mut cmd = Command::new(brine_call());
    cmd.args([
        "--local",
        "-c",
        &root.conf(),
        "--out",
        "json",
        "state.apply",
        "edit",
    ]);
    if test {
        cmd.arg("test=True");
    }
    let out = cmd.output().expect("run brine-call");
    let j: J = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "brine-call output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    results_of(&j, &root.base.display().to_string())
}

/// Call the state functions in process, as the runtime would.
fn run_in_process(
    root: &Root,
    list: &[Scenario],
    test: bool,
) -> std::collections::BTreeMap<String, J> {
    let ctx = Context::new(Value::Map(Map::default())).with_grains(Value::Map(Map::default()));
    let mut roots = indexmap::IndexMap::new();
    roots.insert("base".to_string(), vec![root.base.join("srv")]);
    let files = LocalFileClient::new(roots);
    let running = Map::default();
    let mut m = std::collections::BTreeMap::new();
    for s in list {
        let dir = self_dir(&root.base, s.id);
        let args = subst(&s.args, &dir);
        let (module, fun) = s.fun.split_once('.').expect("mod.fun");
        let mut low = Map::default();
        low.insert(Value::from("state"), Value::from(module));
        low.insert(Value::from("fun"), Value::from(fun));
        low.insert(Value::from("__id__"), Value::from(s.id));
        if let Value::Map(a) = Value::from_json(&args) {
            for (k, v) in a {
                low.insert(k, v);
            }
        }
        let call = states::StateCall {
            ctx: &ctx,
            low: &low,
            test,
            saltenv: "base",
            files: &files,
            running: &running,
        };
        let f = states::lookup(module, fun).expect("state function");
        let name = low
            .get(&Value::from("name"))
            .cloned()
            .unwrap_or(Value::Null);
        let ret = match (f.fun)(&call) {
            Ok(r) => r,
            Err(e) => states::Ret::new(name).with(Some(false), e),
        };
        let mut r = Value::Map(ret.into_map()).to_json();
        if let Some(c) = r.get("comment").and_then(J::as_array) {
            let joined: Vec<String> = c.iter().filter_map(J::as_str).map(str::to_string).collect();
            r["comment"] = J::String(joined.join("\n"));
        }
        let keep = json!({
            "name": r.get("name"), "changes": r.get("changes"),
            "result": r.get("result"), "comment": r.get("comment"),
        });
        m.insert(
            s.id.to_string(),
            normalize(&keep, &root.base.display().to_string()),
        );
    }
    m
}

/// Every entry under `dir`: type, mode, content or target.
fn snapshot(dir: &Path, root: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let mode = md.permissions().mode() & 0o7777;
            if md.file_type().is_symlink() {
                let t = std::fs::read_link(&p)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                out.push(format!("{rel} -> {}", t.replace(root, "{ROOT}")));
            } else if md.is_dir() {
                out.push(format!("{rel}/ {mode:o}"));
                stack.push(p);
            } else {
                let c = std::fs::read(&p).unwrap_or_default();
                out.push(format!(
                    "{rel} {mode:o} {}:{} {:?}",
                    md.uid(),
                    md.gid(),
                    String::from_utf8_lossy(&c)
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn file_edit_states_match_salt() {
    let Some(salt) = salt_call() else {
        eprintln!("SKIP: no salt-call (set SALT_CALL or create .salt-venv)");
        return;
    };
    let only = std::env::var("BRINE_EDIT_ONLY").ok();
    let list: Vec<Scenario> = scenarios()
        .into_iter()
        .filter(|s| only.as_deref().is_none_or(|o| s.id.starts_with(o)))
        .collect();
    let tmp = std::env::temp_dir().join(format!("brine-file-edit-{}", std::process::id()));
    let salt_root = Root::new(tmp.join("salt"), &list);
    // Brine twice: the state functions in process, and brine-call state.apply.
    let inproc_root = Root::new(tmp.join("inproc"), &list);
    let call_root = Root::new(tmp.join("call"), &list);
    let mut mismatches = Vec::new();
    let mut same = 0;
    let mut total = 0;
    for (phase, test) in [
        ("test", true),
        ("apply", false),
        ("again", false),
        ("test-again", true),
    ] {
        let want = run_salt(&salt, &salt_root, test);
        let sides = [
            (
                "in-process",
                &inproc_root,
                run_in_process(&inproc_root, &list, test),
            ),
            ("brine-call", &call_root, run_brine_call(&call_root, test)),
        ];
        for s in &list {
            let w = want.get(s.id).cloned().unwrap_or(J::Null);
            let sroot = salt_root.base.display().to_string();
            let wf = snapshot(&salt_root.base.join("data").join(s.id), &sroot);
            if std::env::var("BRINE_EDIT_DUMP").is_ok() {
                eprintln!("[{phase}] {}: {w}\n    {wf:?}", s.id);
            }
            for (side, root, got) in &sides {
                let g = got.get(s.id).cloned().unwrap_or(J::Null);
                let broot = root.base.display().to_string();
                let gf = snapshot(&root.base.join("data").join(s.id), &broot);
                total += 1;
                if w == g && wf == gf {
                    same += 1;
                } else {
                    mismatches.push(format!(
                        "[{phase}] {} ({side}):\n  salt:  {w}\n  brine: {g}\n  salt files:  {wf:?}\n  brine files: {gf:?}",
                        s.id
                    ));
                }
            }
        }
    }
    eprintln!(
        "file edit states: {same} of {total} scenario-phases identical with Salt ({} scenarios x 4 phases x 2 ways)",
        list.len()
    );
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
