//! The highstate outputter against Salt's own: every case of
//! `highstate_fixtures/cases.json` renders `inputs/<file>.json` (real
//! salt-call state returns, plus crafted shapes) with the case's opts, and
//! must equal `expected/<name>.txt`, which `highstate_fixtures/generate.py`
//! wrote by running `salt.output.highstate` of Salt 3007.8 on the same
//! data (regenerate with `.salt-venv/bin/python core/tests/highstate_fixtures/generate.py`).

use brine_core::output::highstate::{output_with, HighstateOptions};
use brine_core::output::OutputOptions;
use brine_core::value::{Map, Value};
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/highstate_fixtures")
}

fn read_json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// First differing line, for a readable failure.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        if w.get(i) != g.get(i) {
            return format!(
                "line {}: salt {:?}, brine {:?}",
                i + 1,
                w.get(i).unwrap_or(&"<end>"),
                g.get(i).unwrap_or(&"<end>")
            );
        }
    }
    "trailing whitespace differs".into()
}

#[test]
fn highstate_output_matches_salt() {
    let dir = fixtures();
    let cases = read_json(&dir.join("cases.json"));
    let cases = cases.as_array().expect("cases.json is a list");
    assert!(cases.len() >= 12, "at least 12 result shapes");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let input = Value::from_json(&read_json(
            &dir.join("inputs")
                .join(case["input"].as_str().expect("input")),
        ));
        let opts = match Value::from_json(&case["opts"]) {
            Value::Map(m) => m,
            _ => Map::default(),
        };
        let color = opts.get(&Value::from("color")).is_some_and(Value::truthy);
        let oopts = OutputOptions {
            color,
            ..OutputOptions::default()
        };
        let got = output_with(&input, &oopts, &HighstateOptions::from_opts(&opts));
        let got = got.trim_end();
        let want_path = dir.join("expected").join(format!("{name}.txt"));
        let want = std::fs::read_to_string(&want_path)
            .unwrap_or_else(|e| panic!("{}: {e}", want_path.display()));
        if got != want {
            failures.push(format!("{name}: {}", first_difference(&want, got)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Salt:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
