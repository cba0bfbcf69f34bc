//! The `file` editing and link execution functions (file.replace, search,
//! contains, contains_regex, line, blockreplace, comment_line, comment,
//! uncomment, append, prepend, touch, symlink, is_link, readlink) called
//! from the command line: `salt-call --local` (Salt 3007.8) and
//! `brine-call --local` with the same arguments, each in its own scratch
//! directory seeded with the same files. The JSON output, the exit code
//! and the resulting directory (content, mode, link targets) must be the
//! same; for errors, Brine's message must be the one Salt prints (Salt adds
//! the function's docstring to invalid-argument errors, Brine does not).
//!
//! Skipped, with a notice, when no salt-call is found.

use serde_json::Value as J;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEED: &[(&str, &str)] = &[("f", "a\nb\n# c\n"), ("link", "->f")];

/// (case id, CLI words with `{D}` for the case directory).
fn cases() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "replace",
            vec!["file.replace", "{D}/f", "pattern=^b$", "repl=B"],
        ),
        (
            "replace_dry",
            vec![
                "file.replace",
                "{D}/f",
                "b",
                "B",
                "dry_run=True",
                "show_changes=False",
            ],
        ),
        (
            "replace_search_only",
            vec!["file.replace", "{D}/f", "b", "B", "search_only=True"],
        ),
        (
            "replace_missing",
            vec!["file.replace", "{D}/nope", "a", "b"],
        ),
        (
            "replace_missing_ok",
            vec![
                "file.replace",
                "{D}/nope",
                "a",
                "b",
                "ignore_if_missing=True",
            ],
        ),
        (
            "replace_both",
            vec![
                "file.replace",
                "{D}/f",
                "x",
                "y",
                "append_if_not_found=True",
                "prepend_if_not_found=True",
            ],
        ),
        (
            "replace_bad_flag",
            vec!["file.replace", "{D}/f", "x", "y", "flags=[BOGUS]"],
        ),
        (
            "replace_via_link",
            vec!["file.replace", "{D}/link", "a", "A", "backup=.orig"],
        ),
        ("search", vec!["file.search", "{D}/f", "^b$"]),
        (
            "search_flags",
            vec![
                "file.search",
                "{D}/f",
                "^B$",
                "flags=[IGNORECASE, MULTILINE]",
            ],
        ),
        ("search_none", vec!["file.search", "{D}/f", "^zz"]),
        (
            "search_missing_ok",
            vec!["file.search", "{D}/nope", "x", "ignore_if_missing=True"],
        ),
        ("contains", vec!["file.contains", "{D}/f", " b "]),
        ("contains_not", vec!["file.contains", "{D}/f", "zz"]),
        (
            "contains_regex",
            vec!["file.contains_regex", "{D}/f", "^c", "lchar=# "],
        ),
        (
            "contains_regex_not",
            vec!["file.contains_regex", "{D}/f", "^c"],
        ),
        (
            "line",
            vec!["file.line", "{D}/f", "content=x", "mode=ensure", "after=a"],
        ),
        (
            "line_bad_mode",
            vec!["file.line", "{D}/f", "content=x", "mode=bogus"],
        ),
        (
            "line_no_changes_flag",
            vec![
                "file.line",
                "{D}/f",
                "content=x",
                "mode=insert",
                "location=end",
                "show_changes=False",
            ],
        ),
        (
            "line_missing",
            vec!["file.line", "{D}/nope", "content=x", "mode=ensure"],
        ),
        (
            "blockreplace",
            vec![
                "file.blockreplace",
                "{D}/f",
                "marker_start=#S",
                "marker_end=#E",
                "content=x",
                "append_if_not_found=True",
            ],
        ),
        (
            "blockreplace_none",
            vec!["file.blockreplace", "{D}/f", "content=x"],
        ),
        ("comment_line", vec!["file.comment_line", "{D}/f", "^a"]),
        (
            "comment_line_none",
            vec!["file.comment_line", "{D}/f", "^zz"],
        ),
        (
            "uncomment_line",
            vec!["file.comment_line", "{D}/f", "c", "#", "False", ".bk"],
        ),
        (
            "comment",
            vec!["file.comment", "{D}/f", "b", "backup=False"],
        ),
        ("uncomment", vec!["file.uncomment", "{D}/f", "c"]),
        ("append", vec!["file.append", "{D}/f", "x", "y z"]),
        ("prepend", vec!["file.prepend", "{D}/f", "x"]),
        ("touch_new", vec!["file.touch", "{D}/new"]),
        (
            "touch_times",
            vec!["file.touch", "{D}/f", "mtime=1700000000"],
        ),
        ("symlink", vec!["file.symlink", "/etc/hostname", "{D}/l"]),
        ("symlink_same", vec!["file.symlink", "{D}/f", "{D}/link"]),
        (
            "symlink_exists",
            vec!["file.symlink", "/etc/hostname", "{D}/f"],
        ),
        (
            "symlink_force",
            vec!["file.symlink", "/etc/hostname", "{D}/f", "force=True"],
        ),
        (
            "symlink_relative",
            vec!["file.symlink", "/etc/hostname", "rel/l"],
        ),
        ("is_link", vec!["file.is_link", "{D}/link"]),
        ("is_link_not", vec!["file.is_link", "{D}/f"]),
        ("readlink", vec!["file.readlink", "{D}/link"]),
        (
            "readlink_canon",
            vec!["file.readlink", "{D}/link", "canonicalize=True"],
        ),
        ("readlink_not_link", vec!["file.readlink", "{D}/f"]),
        ("readlink_relative", vec!["file.readlink", "rel/link"]),
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

fn setup(base: &Path) -> String {
    let _ = std::fs::remove_dir_all(base);
    std::fs::create_dir_all(base.join("conf")).expect("mkdir");
    let b = base.display();
    std::fs::write(
        base.join("conf/minion"),
        format!(
            "file_client: local\nroot_dir: {b}/var\ncachedir: {b}/var/cache\npki_dir: {b}/var/pki\n\
             sock_dir: {b}/var/sock\nlog_file: {b}/var/log\nfile_roots:\n  base:\n    - {b}/srv\n"
        ),
    )
    .expect("conf");
    base.join("conf").display().to_string()
}

fn seed(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("mkdir");
    for (rel, content) in SEED {
        let p = dir.join(rel);
        match content.strip_prefix("->") {
            Some(t) => std::os::unix::fs::symlink(t, &p).expect("symlink"),
            None => std::fs::write(&p, content).expect("write"),
        }
    }
}

fn snapshot(dir: &Path, root: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    for p in entries {
        let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if md.file_type().is_symlink() {
            let t = std::fs::read_link(&p)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            out.push(format!("{rel} -> {}", t.replace(root, "{ROOT}")));
        } else {
            let c = std::fs::read(&p).unwrap_or_default();
            let mode = md.permissions().mode() & 0o7777;
            out.push(format!("{rel} {mode:o} {:?}", String::from_utf8_lossy(&c)));
        }
    }
    out
}

/// (exit code, stdout JSON, first stderr line), paths of `root` as {ROOT}.
fn run(tool: &Path, conf: &str, words: &[String], root: &str) -> (i32, J, String) {
    let out = Command::new(tool)
        .args(["--local", "-c", conf, "--out", "json"])
        .args(words)
        .current_dir(root)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).replace(root, "{ROOT}");
    let j: J = serde_json::from_str(&stdout).unwrap_or(J::Null);
    let err = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("[WARNING"))
        .unwrap_or("")
        .replace(root, "{ROOT}");
    (out.status.code().unwrap_or(-1), j, err)
}

#[test]
fn file_edit_functions_match_salt() {
    let Some(salt) = salt_call() else {
        eprintln!("SKIP: no salt-call (set SALT_CALL or create .salt-venv)");
        return;
    };
    let brine = PathBuf::from(env!("CARGO_BIN_EXE_brine-call"));
    let tmp = std::env::temp_dir().join(format!("brine-file-edit-fn-{}", std::process::id()));
    let sroot = tmp.join("salt");
    let broot = tmp.join("brine");
    let sconf = setup(&sroot);
    let bconf = setup(&broot);
    let mut bad = Vec::new();
    let only = std::env::var("BRINE_EDIT_ONLY").ok();
    let list: Vec<_> = cases()
        .into_iter()
        .filter(|(id, _)| only.as_deref().is_none_or(|o| id.starts_with(o)))
        .collect();
    for (id, words) in &list {
        let mut got = Vec::new();
        for (tool, root, conf) in [(&salt, &sroot, &sconf), (&brine, &broot, &bconf)] {
            let dir = root.join("data").join(id);
            seed(&dir);
            let d = dir.display().to_string();
            let w: Vec<String> = words.iter().map(|x| x.replace("{D}", &d)).collect();
            let rs = root.display().to_string();
            let (rc, out, err) = run(tool, conf, &w, &rs);
            got.push((rc, out, err, snapshot(&dir, &rs)));
        }
        let (s, b) = (&got[0], &got[1]);
        if std::env::var("BRINE_EDIT_DUMP").is_ok() {
            eprintln!("{id}: {s:?}");
        }
        let err_ok = b.2 == s.2 || (!b.2.is_empty() && s.2.contains(b.2.trim_end_matches('.')));
        if s.0 != b.0 || s.1 != b.1 || s.3 != b.3 || !err_ok {
            bad.push(format!("{id}:\n  salt:  {s:?}\n  brine: {b:?}"));
        }
    }
    eprintln!(
        "file edit functions: {} of {} calls identical with Salt",
        list.len() - bad.len(),
        list.len()
    );
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
