//! Outputters compared byte for byte with Salt's own, run from the
//! project's `.salt-venv` at test time (skipped with a notice without it).

use super::*;
use crate::value::Map;
use std::path::PathBuf;

/// Python expressions for the data; `O(...)` is an OrderedDict.
const CASES: &[&str] = &[
    r#"{"local": True}"#,
    r#"{"local": None}"#,
    r#"{"local": {"b": 1, "a": [1, 2.5, None, True, "x"], "c": {}}}"#,
    r#"{"local": [{"z": 1, "a": {"y": [[1, 2], {"k": "v"}]}}, [], "s"]}"#,
    r#"{"local": "line1\nline2\r\nline3\n"}"#,
    r#"{"local": {"uni": "h\u00e9llo \u2603", "ctl": "a\tb\x01\x1b[0m\"q\\", "empty": ""}}"#,
    r#"{"local": {1: "int key", 2.5: "float", True: "bool", None: "none"}}"#,
    r#"{"local": {"f": [0.1, 1e16, 1.5e-05, -0.0, 1e300, 123456789.123, 10**20]}}"#,
    r#"{"local": {"b": 2, 1: "mixed"}}"#,
    r#"{"local": [1, [2, [3, {"a": None}]]]}"#,
    r#"{"local": {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")}}"#,
    r#"{"local": "it's"}"#,
    r#"{"local": 5}"#,
    r#"{"local": ["a", "b"]}"#,
    r#"{"local": {"k": "v", "m": {"x": 1}, "l": [1, "two"]}}"#,
    r##"{"local": {"s": ["yes", "null", "1.0", "", " lead", "a: b", "- x", "x" * 100, "multi\nline\n", "tab\there", "#c", "@at", "'q'"]}}"##,
    r#"{"local": {"empty": {"l": [], "d": {}, "n": [[], {}]}, "uni": "caf\u00e9 \U0001F600"}}"#,
    r#"{"local": [[1, [2]], {"a": [{"b": {}}]}]}"#,
    r#"O([("local", O([("zz", 1), ("aa", O([("y", 2), ("b", [O([("q", 1), ("p", 2)])])]))]))])"#,
];

const SCRIPT: &str = r#"
import sys, json, warnings
warnings.filterwarnings("ignore")
from collections import OrderedDict as O
import salt.config, salt.loader
opts = salt.config.minion_config(None)
opts["color"] = False
outs = salt.loader.outputters(opts)

def tag(v):
    if v is None: return ["null"]
    if isinstance(v, bool): return ["bool", v]
    if isinstance(v, int): return ["int", str(v)]
    if isinstance(v, float): return ["float", v.hex()]
    if isinstance(v, str): return ["str", v]
    if isinstance(v, bytes): return ["bytes", list(v)]
    if isinstance(v, (list, tuple)): return ["list", [tag(x) for x in v]]
    if isinstance(v, dict): return ["map", [[tag(k), tag(x)] for k, x in v.items()]]
    raise TypeError(v)

res = []
for expr in json.loads(sys.stdin.read()):
    data = eval(expr)
    r = {"data": tag(data)}
    for name in ("json", "nested", "txt", "yaml"):
        r[name] = (outs[name](data) or "").rstrip()
    res.append(r)
print(json.dumps(res))
"#;

fn python() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin/python");
    p.exists().then_some(p)
}

fn untag(j: &serde_json::Value) -> Value {
    let a = j.as_array().expect("tagged value");
    let t = a[0].as_str().expect("tag");
    match t {
        "null" => Value::Null,
        "bool" => Value::Bool(a[1].as_bool().expect("bool")),
        "int" => Value::Int(a[1].as_str().and_then(|s| s.parse().ok()).expect("int")),
        "float" => Value::Float(parse_hex_float(a[1].as_str().expect("float"))),
        "str" => Value::Str(a[1].as_str().expect("str").to_string()),
        "bytes" => Value::Bytes(
            a[1].as_array()
                .expect("bytes")
                .iter()
                .map(|b| b.as_u64().expect("byte") as u8)
                .collect(),
        ),
        "list" => Value::List(a[1].as_array().expect("list").iter().map(untag).collect()),
        "map" => {
            let mut m = Map::default();
            for kv in a[1].as_array().expect("map") {
                m.insert(untag(&kv[0]), untag(&kv[1]));
            }
            Value::Map(m)
        }
        other => panic!("bad tag {other}"),
    }
}

/// `float.hex()` back to f64.
fn parse_hex_float(s: &str) -> f64 {
    match s {
        "nan" => return f64::NAN,
        "inf" => return f64::INFINITY,
        "-inf" => return f64::NEG_INFINITY,
        _ => {}
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let s = s.strip_prefix("0x").expect("hex float");
    let (mant, exp) = s.split_once('p').expect("exponent");
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = u64::from_str_radix(int, 16).expect("int part") as f64;
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16).expect("hex digit") as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp.parse::<i32>().expect("exp"));
    if neg {
        -v
    } else {
        v
    }
}

#[test]
fn outputters_match_salt() {
    let Some(py) = python() else {
        eprintln!("NOTICE: .salt-venv absent, skipping outputter comparison with Salt");
        return;
    };
    use std::io::Write;
    let mut child = std::process::Command::new(py)
        .arg("-c")
        .arg(SCRIPT)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run python");
    let input = serde_json::to_string(CASES).expect("json");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python output");
    let res: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python printed json");
    let mut failures = Vec::new();
    for (case, r) in CASES.iter().zip(res.as_array().expect("list")) {
        let data = untag(&r["data"]);
        let sort = if case.starts_with("O(") {
            SortMaps::Never
        } else {
            SortMaps::All
        };
        let opts = OutputOptions {
            sort,
            ..Default::default()
        };
        for name in ["json", "nested", "txt", "yaml"] {
            let want = r[name].as_str().expect("str");
            let got = display(&data, name, &opts);
            if got != want {
                failures.push(format!(
                    "{name} {case}\n--- salt:\n{want}\n--- brine:\n{got}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn json_indent_variants() {
    let mut m = Map::default();
    m.insert(
        Value::from("a"),
        Value::List(vec![Value::Int(1), Value::map()]),
    );
    let v = Value::Map(m);
    assert_eq!(json::dumps(&v, None, false), r#"{"a": [1, {}]}"#);
    assert_eq!(json::dumps(&v, Some(0), false), "{\n\"a\": [\n1,\n{}\n]\n}");
    let opts = OutputOptions {
        indent: OutputIndent::Spaces(-1),
        ..Default::default()
    };
    assert_eq!(display(&v, "json", &opts), r#"{"a": [1, {}]}"#);
}

#[test]
fn nested_colors_and_depth_sorting() {
    let mut inner = Map::default();
    inner.insert(Value::from("z"), Value::Int(1));
    inner.insert(Value::from("a"), Value::Int(2));
    let mut outer = Map::default();
    outer.insert(Value::from("y"), Value::Map(inner.clone()));
    outer.insert(Value::from("b"), Value::Map(inner));
    let v = Value::Map(outer);
    let o = NestedOptions {
        sort: SortMaps::Depths(vec![0]),
        ..Default::default()
    };
    assert_eq!(
        nested::output(&v, &o),
        "b:\n    ----------\n    z:\n        1\n    a:\n        2\ny:\n    ----------\n    z:\n        1\n    a:\n        2"
    );
    let o = NestedOptions {
        color: true,
        ..Default::default()
    };
    let s = nested::output(&Value::Bool(true), &o);
    assert_eq!(s, "\x1b[0;1;33mTrue\x1b[0;0m");
}

/// Expectations printed by Salt's highstate outputter (color off).
#[test]
fn highstate_compile_errors_like_salt() {
    let mut m = Map::default();
    m.insert(
        Value::from("local"),
        Value::List(vec![Value::from("err one"), Value::from("multi\nline")]),
    );
    let opts = OutputOptions::default();
    assert_eq!(
        display(&Value::Map(m), "highstate", &opts),
        "local:\n    Data failed to compile:\n----------\n    err one\n----------\n    multi\nline"
    );
    let mut m = Map::default();
    m.insert(Value::from("local"), Value::from("some text"));
    assert_eq!(
        display(&Value::Map(m), "highstate", &opts),
        "local:\n    some text"
    );
    let mut m = Map::default();
    m.insert(Value::from("local"), Value::Int(5));
    assert_eq!(display(&Value::Map(m), "highstate", &opts), "local:\n    5");
}
