//! Conformance of `brine_core::yaml` with real Salt 3007.8 / PyYAML.
//!
//! The cases live in `tests/yaml_cases/*.txt`; their expected results are
//! computed at test time by `tests/yaml_cases/oracle.py` running in Salt's
//! venv (`.salt-venv/bin/python` at the workspace root). Without the venv the
//! tests print a notice and pass without checking.
//!
//! Case file format: a header line `### name` (optionally `### name | {json}`
//! with `kind`, `opts`, `sort`, `flow`, `src`, `noeol`), then the YAML source
//! up to the next header. `src` in the JSON replaces the body (for control
//! characters); `noeol` drops the body's final newline.

use brine_core::value::{py_float_repr, Value};
use brine_core::yaml::{self, DumpConfig, YamlErrorKind};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Case {
    name: String,
    spec: serde_json::Map<String, serde_json::Value>,
    src: String,
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for line in text.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("### ") {
            let header = header.trim_end_matches('\n');
            let (name, json) = match header.split_once(" | ") {
                Some((n, j)) => (n.trim(), j.trim()),
                None => (header.trim(), "{}"),
            };
            let spec = match serde_json::from_str::<serde_json::Value>(json) {
                Ok(serde_json::Value::Object(m)) => m,
                other => panic!("bad case header {header:?}: {other:?}"),
            };
            cases.push(Case {
                name: name.to_string(),
                spec,
                src: String::new(),
            });
        } else if let Some(c) = cases.last_mut() {
            c.src.push_str(line);
        }
    }
    for c in &mut cases {
        if let Some(serde_json::Value::String(s)) = c.spec.get("src") {
            c.src = s.clone();
        } else if c.spec.get("noeol") == Some(&serde_json::Value::Bool(true))
            && c.src.ends_with('\n')
        {
            c.src.pop();
        }
    }
    cases
}

/// The same typed rendering as `oracle.py`'s `render`.
fn render(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(true) => "true".into(),
        Value::Bool(false) => "false".into(),
        Value::Int(i) => format!("i:{i}"),
        Value::Float(f) => format!("f:{}", py_float_repr(*f)),
        Value::Str(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Bytes(b) => format!(
            "b:{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
        Value::List(l) => format!("[{}]", l.iter().map(render).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{}: {}", render(k), render(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn err_text(e: &yaml::YamlError) -> String {
    if e.kind == YamlErrorKind::Other {
        "EXC".into()
    } else {
        format!("ERR:{}", e.message)
    }
}

fn ours(case: &Case) -> String {
    let kind = case
        .spec
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("load");
    let loaded = if kind == "safe_load" {
        yaml::safe_load(&case.src)
    } else {
        yaml::load(&case.src)
    };
    let value = match loaded {
        Ok(v) => v,
        Err(e) => return err_text(&e),
    };
    let sort = case.spec.get("sort").and_then(|s| s.as_bool()) == Some(true);
    match kind {
        "load" | "safe_load" => render(&value),
        "dump" => {
            let mut cfg = DumpConfig {
                sort_keys: sort,
                ..DumpConfig::default()
            };
            if let Some(serde_json::Value::Object(o)) = case.spec.get("opts") {
                for (k, v) in o {
                    match k.as_str() {
                        "default_flow_style" => cfg.default_flow_style = v.as_bool(),
                        "indent" => cfg.indent = v.as_i64().map(|i| i as i32),
                        "width" => cfg.width = v.as_i64().map(|i| i as i32),
                        "allow_unicode" => cfg.allow_unicode = v.as_bool() == Some(true),
                        "explicit_start" => cfg.explicit_start = v.as_bool() == Some(true),
                        "explicit_end" => cfg.explicit_end = v.as_bool() == Some(true),
                        other => panic!("unknown dump option {other}"),
                    }
                }
            }
            yaml::dump_with(&value, &cfg)
        }
        "jinja" => {
            let flow = match case.spec.get("flow") {
                Some(serde_json::Value::Null) => None,
                Some(v) => v.as_bool(),
                None => Some(true),
            };
            yaml::format_yaml(&value, flow, sort)
        }
        "dquote" | "squote" => {
            let text = match &value {
                Value::Str(s) => s.clone(),
                other => panic!("{}: quote cases need a string, got {other:?}", case.name),
            };
            if kind == "dquote" {
                yaml::dump_scalar_double_quoted(&text)
            } else {
                yaml::dump_scalar_single_quoted(&text)
            }
        }
        "encode" => yaml::yaml_encode(&value).unwrap_or_else(|_| "EXC".into()),
        other => panic!("unknown case kind {other}"),
    }
}

fn normalise_expected(s: &str) -> String {
    if s.starts_with("EXC:") {
        "EXC".into()
    } else {
        s.to_string()
    }
}

fn venv_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let py = root.join(".salt-venv/bin/python");
    py.exists().then_some(py)
}

fn oracle(cases: &[Case]) -> Option<Vec<String>> {
    let py = match venv_python() {
        Some(p) => p,
        None => {
            println!("NOTICE: .salt-venv not found; YAML conformance against Salt skipped");
            return None;
        }
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml_cases/oracle.py");
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|c| {
            let mut m = c.spec.clone();
            m.insert("src".into(), serde_json::Value::String(c.src.clone()));
            serde_json::Value::Object(m)
        })
        .collect();
    let mut child = Command::new(py)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run Salt's python");
    let body = serde_json::to_vec(&input).expect("cases as JSON");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&body)
        .expect("write cases");
    let out = child.wait_with_output().expect("oracle output");
    assert!(out.status.success(), "oracle.py failed");
    Some(serde_json::from_slice(&out.stdout).expect("oracle JSON"))
}

fn check_file(file: &str, min_cases: usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/yaml_cases")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("case file");
    let cases = parse_cases(&text);
    assert!(
        cases.len() >= min_cases,
        "{file}: only {} cases",
        cases.len()
    );
    let Some(expected) = oracle(&cases) else {
        return;
    };
    let mut failures = Vec::new();
    for (case, exp) in cases.iter().zip(&expected) {
        let got = ours(case);
        let exp = normalise_expected(exp);
        if got != exp {
            failures.push(format!(
                "--- {}\nsource: {:?}\nsalt:   {:?}\nbrine:  {:?}",
                case.name, case.src, exp, got
            ));
        }
    }
    println!(
        "{file}: {} of {} cases identical to Salt",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Salt:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn load_matches_salt() {
    check_file("load.txt", 80);
}

#[test]
fn dump_matches_salt() {
    check_file("dump.txt", 30);
}
