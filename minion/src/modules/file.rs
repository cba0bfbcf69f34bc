//! `file` (salt/modules/file.py): the path helpers templates use.

use super::{bind, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("file_exists", file_exists),
    ("directory_exists", directory_exists),
    ("basename", basename),
    ("dirname", dirname),
    ("join", join),
];

/// `os.path.expanduser`.
fn expanduser(p: &str) -> String {
    if p == "~" || p.starts_with("~/") {
        if let Ok(home) = std::env::var("HOME") {
            return format!("{home}{}", &p[1..]);
        }
    }
    p.to_string()
}

fn path_arg(fun: &str, args: Vec<Value>, kwargs: Map) -> Result<String, String> {
    let b = bind(fun, &["path"], 1, false, false, args, kwargs)?;
    Ok(str_of(&b.get(0, Value::Null)))
}

fn file_exists(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let p = path_arg("file.file_exists", args, kwargs)?;
    Ok(Value::Bool(std::path::Path::new(&expanduser(&p)).is_file()))
}

fn directory_exists(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let p = path_arg("file.directory_exists", args, kwargs)?;
    Ok(Value::Bool(std::path::Path::new(&expanduser(&p)).is_dir()))
}

/// `os.path.basename`: what follows the last `/`.
pub fn py_basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `os.path.dirname`: what precedes the last `/`, trailing slashes removed
/// unless it is all slashes.
pub fn py_dirname(p: &str) -> String {
    match p.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &p[..=i];
            if head.chars().all(|c| c == '/') {
                head.to_string()
            } else {
                head.trim_end_matches('/').to_string()
            }
        }
    }
}

fn basename(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let p = path_arg("file.basename", args, kwargs)?;
    Ok(Value::from(py_basename(&p)))
}

fn dirname(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let p = path_arg("file.dirname", args, kwargs)?;
    Ok(Value::from(py_dirname(&p)))
}

/// `os.path.join(*args)`.
pub fn py_join(parts: &[String]) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if p.starts_with('/') {
            out = p.clone();
        } else if i == 0 || out.is_empty() || out.ends_with('/') {
            out.push_str(p);
        } else {
            out.push('/');
            out.push_str(p);
        }
    }
    out
}

fn join(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.join", &[], 0, true, false, args, kwargs)?;
    if b.rest.is_empty() {
        return Err(super::invalid_args(
            "join() missing 1 required positional argument: 'a'",
        ));
    }
    for a in &b.rest {
        if !matches!(a, Value::Str(_)) {
            return Err(format!(
                "join() argument must be str, bytes, or os.PathLike object, not '{}'",
                a.type_name()
            ));
        }
    }
    let parts: Vec<String> = b.rest.iter().map(str_of).collect();
    Ok(Value::from(py_join(&parts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_helpers_like_python() {
        assert_eq!(py_basename("/a/b.txt"), "b.txt");
        assert_eq!(py_basename("/a/b/"), "");
        assert_eq!(py_dirname("/a/b.txt"), "/a");
        assert_eq!(py_dirname("/a.txt"), "/");
        assert_eq!(py_dirname("a//b"), "a");
        assert_eq!(py_dirname("b"), "");
        assert_eq!(
            py_join(&["/a".into(), "b".into(), "/c".into(), "d".into()]),
            "/c/d"
        );
        assert_eq!(py_join(&["a/".into(), "b".into()]), "a/b");
        assert_eq!(py_join(&["".into(), "b".into()]), "b");
    }
}
