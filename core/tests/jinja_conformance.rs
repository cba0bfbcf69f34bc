//! Conformance of Brine's Jinja environment with real Salt 3007.8.
//!
//! Every `jinja_cases/*.jinja` template is rendered twice: by Salt's
//! `salt.utils.templates.render_jinja_tmpl` (through `jinja_salt_render.py`
//! and `.salt-venv/bin/python`) and by Brine, with the same grains, pillar,
//! opts and `salt` functions. Outputs must be byte-identical; a template
//! Salt fails to render must fail in Brine too. Templates named `tmpl_*`
//! render as plain templates (no SLS name), the others as SLS
//! `cases.<name>`. Imports resolve under `jinja_cases/root`.
//! A template may come with `NAME.opts.json`, merged into the minion opts
//! (`jinja_sls_env`, `jinja_env`, ...). [`KNOWN_DIFFERENCES`] lists the
//! templates where Brine knowingly differs; they are reported, not failed.
//! Without the venv the test prints a notice and passes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use brine_core::fileclient::LocalFileClient;
use brine_core::functions::Functions;
use brine_core::render::{render_template, RenderContext};
use brine_core::value::{Map, Value};

/// Templates where Brine knowingly differs from Salt, with the reason.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "format_filter",
        "str.format conversions (`{!r}`) are not supported",
    ),
    (
        "percent_tuple_types",
        "printf `%r`/`%a` conversions are not supported",
    ),
    (
        "macro_varargs",
        "macros do not collect extra arguments into `varargs`/`kwargs`",
    ),
    (
        "xmlattr_attr",
        "`attr()` also finds dict items (Jinja2 only looks up attributes)",
    ),
];

struct CaseFunctions {
    grains: Value,
    pillar: Value,
}

fn traverse(data: &Value, key: &str, default: Value) -> Value {
    data.traverse(key, ":").cloned().unwrap_or(default)
}

impl Functions for CaseFunctions {
    fn call(&self, fun: &str, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
        let arg = |i: usize, name: &str| {
            args.get(i)
                .cloned()
                .or_else(|| kwargs.get(&Value::from(name)).cloned())
        };
        match fun {
            "pillar.get" | "grains.get" => {
                let key = arg(0, "key")
                    .and_then(|k| k.as_str().map(str::to_string))
                    .unwrap_or_default();
                let default = arg(1, "default").unwrap_or(Value::from(""));
                let data = if fun == "pillar.get" {
                    &self.pillar
                } else {
                    &self.grains
                };
                Ok(traverse(data, &key, default))
            }
            "test.echo" => Ok(arg(0, "text").unwrap_or(Value::Null)),
            "test.kwargs" => Ok(Value::Map(kwargs)),
            _ => Err(format!("'{fun}' is not available.")),
        }
    }
    fn has(&self, fun: &str) -> bool {
        self.names().iter().any(|n| n == fun)
    }
    fn names(&self) -> Vec<String> {
        ["grains.get", "pillar.get", "test.echo", "test.kwargs"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

fn data() -> (Value, Value) {
    let grains = serde_json::json!({
        "id": "minion1",
        "os": "Debian",
        "os_family": "Debian",
        "osmajorrelease": 12,
        "num_cpus": 4,
        "mem_total": 7951.5,
        "ipv4": ["127.0.0.1", "10.0.0.5"],
        "roles": ["web", "db"],
        "kernel": "Linux",
    });
    let pillar = serde_json::json!({
        "users": {"alice": {"uid": 1001, "shell": "/bin/zsh", "groups": ["wheel", "dev"]},
                  "bob": {"uid": 1002, "shell": "/bin/bash", "groups": []}},
        "pkgs": ["vim", "git", "curl"],
        "nested": {"a": {"b": {"c": "deep"}}, "list": [{"x": 1}, {"y": 2}]},
        "flag": true,
        "port": 8080,
        "ratio": 0.25,
        "empty": {},
        "name with space": "ok",
        "quote": "it's \"quoted\"",
        "unicode": "héllo wörld",
        "multiline": "line1\nline2\n",
    });
    (Value::from_json(&grains), Value::from_json(&pillar))
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/jinja_cases")
}

struct Case {
    name: String,
    source: String,
    sls: String,
    tmplpath: String,
    opts: serde_json::Value,
}

fn load_cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(cases_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.extension().and_then(|e| e.to_str()) != Some("jinja") {
            continue;
        }
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        let source = std::fs::read_to_string(&p).unwrap();
        let (sls, tmplpath) = if name.starts_with("tmpl_") {
            (String::new(), format!("cases/{name}.txt"))
        } else {
            (format!("cases.{name}"), format!("cases/{name}.sls"))
        };
        let opts_path = p.with_extension("opts.json");
        let opts = match std::fs::read_to_string(&opts_path) {
            Ok(t) => serde_json::from_str(&t).expect("valid opts json"),
            Err(_) => serde_json::json!({}),
        };
        out.push(Case {
            name,
            source,
            sls,
            tmplpath,
            opts,
        });
    }
    out
}

fn salt_python() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin/python");
    p.exists().then_some(p)
}

fn render_with_salt(
    py: &Path,
    cases: &[Case],
    grains: &Value,
    pillar: &Value,
    mode: &str,
) -> serde_json::Value {
    let doc = serde_json::json!({
        "mode": mode,
        "file_root": cases_dir().join("root").to_string_lossy(),
        "grains": grains.to_json(),
        "pillar": pillar.to_json(),
        "cases": cases.iter().map(|c| serde_json::json!({
            "name": c.name, "source": c.source,
            "sls": c.sls, "tmplpath": c.tmplpath, "opts": c.opts,
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new(py)
        .arg(cases_dir().join("../jinja_salt_render.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run salt python");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(doc.to_string().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "salt renderer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("salt renderer json")
}

#[test]
fn jinja_matches_salt() {
    let Some(py) = salt_python() else {
        eprintln!("NOTICE: .salt-venv not found; skipping Jinja conformance against Salt");
        return;
    };
    let (grains, pillar) = data();
    let cases = load_cases();
    let salt = render_with_salt(&py, &cases, &grains, &pillar, "jinja");
    let mut roots = indexmap::IndexMap::new();
    roots.insert("base".to_string(), vec![cases_dir().join("root")]);
    let fc = LocalFileClient::new(roots);
    let funcs = CaseFunctions {
        grains: grains.clone(),
        pillar: pillar.clone(),
    };
    let mut identical = 0;
    let mut failures = Vec::new();
    let mut known = Vec::new();
    for c in &cases {
        let opts = Value::from_json(&c.opts);
        let ctx = RenderContext {
            opts: &opts,
            grains: &grains,
            pillar: &pillar,
            saltenv: "base",
            sls: &c.sls,
            functions: &funcs,
            file_client: &fc,
            extra: Map::default(),
        };
        let ours = render_template(&c.source, &c.tmplpath, &ctx);
        let theirs = &salt[&c.name];
        match (theirs.get("ok").and_then(|v| v.as_str()), ours) {
            (Some(expected), Ok(got)) if expected == got => identical += 1,
            (Some(expected), Ok(got)) => failures.push(format!(
                "{}: output differs\n--- salt\n{expected}\n--- brine\n{got}",
                c.name
            )),
            (Some(expected), Err(e)) => failures.push(format!(
                "{}: brine failed: {}\n--- salt\n{expected}",
                c.name, e.message
            )),
            (None, Err(e)) => {
                identical += 1;
                let salt_err = theirs.get("err").and_then(|v| v.as_str()).unwrap_or("");
                if salt_err != e.message {
                    eprintln!(
                        "note: {} error text differs\n  salt:  {salt_err:?}\n  brine: {:?}",
                        c.name, e.message
                    );
                }
            }
            (None, Ok(got)) => failures.push(format!(
                "{}: salt failed ({}) but brine rendered:\n{got}",
                c.name,
                theirs.get("err").and_then(|v| v.as_str()).unwrap_or("")
            )),
        }
    }
    eprintln!(
        "jinja conformance: {identical}/{} templates identical to Salt",
        cases.len()
    );
    failures.retain(|f| {
        let name = f.split(':').next().unwrap_or_default();
        match KNOWN_DIFFERENCES.iter().find(|(n, _)| *n == name) {
            Some((n, why)) => {
                known.push(format!("{n}: {why}"));
                false
            }
            None => true,
        }
    });
    for k in &known {
        eprintln!("known difference: {k}");
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Whole SLS files (`jinja_cases/root/sls/*.sls`) through the renderer
/// pipeline: Brine's `render_sls` against Salt's `compile_template`,
/// compared as JSON (key order included).
#[test]
fn sls_pipeline_matches_salt() {
    let Some(py) = salt_python() else {
        eprintln!("NOTICE: .salt-venv not found; skipping SLS render conformance against Salt");
        return;
    };
    let (grains, pillar) = data();
    let dir = cases_dir().join("root/sls");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let cases: Vec<Case> = files
        .iter()
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("sls"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            Case {
                source: std::fs::read_to_string(p).unwrap(),
                sls: format!("sls.{name}"),
                tmplpath: format!("sls/{name}.sls"),
                opts: serde_json::json!({}),
                name,
            }
        })
        .collect();
    let salt = render_with_salt(&py, &cases, &grains, &pillar, "sls");
    let mut roots = indexmap::IndexMap::new();
    roots.insert("base".to_string(), vec![cases_dir().join("root")]);
    let fc = LocalFileClient::new(roots);
    let funcs = CaseFunctions {
        grains: grains.clone(),
        pillar: pillar.clone(),
    };
    let opts = Value::map();
    let mut identical = 0;
    let mut failures = Vec::new();
    for c in &cases {
        let ctx = RenderContext {
            opts: &opts,
            grains: &grains,
            pillar: &pillar,
            saltenv: "base",
            sls: &c.sls,
            functions: &funcs,
            file_client: &fc,
            extra: Map::default(),
        };
        let ours = brine_core::render::render_sls(&c.source, &c.tmplpath, "jinja|yaml", &ctx);
        let theirs = &salt[&c.name];
        match (theirs.get("ok").and_then(|v| v.as_str()), ours) {
            (Some(expected), Ok(got)) => {
                let expected: serde_json::Value = serde_json::from_str(expected).unwrap();
                let got = got.to_json();
                if serde_json::to_string(&expected).unwrap() == serde_json::to_string(&got).unwrap()
                {
                    identical += 1;
                } else {
                    failures.push(format!(
                        "{}: data differs\n--- salt\n{expected}\n--- brine\n{got}",
                        c.name
                    ));
                }
            }
            (Some(_), Err(e)) => failures.push(format!("{}: brine failed: {}", c.name, e.message)),
            (None, Err(e)) => {
                identical += 1;
                let salt_err = theirs.get("err").and_then(|v| v.as_str()).unwrap_or("");
                if salt_err != e.message {
                    eprintln!(
                        "note: {} error text differs\n  salt:  {salt_err:?}\n  brine: {:?}",
                        c.name, e.message
                    );
                }
            }
            (None, Ok(got)) => failures.push(format!(
                "{}: salt failed but brine rendered {got:?}",
                c.name
            )),
        }
    }
    eprintln!(
        "sls pipeline conformance: {identical}/{} files identical to Salt",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} differences:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
