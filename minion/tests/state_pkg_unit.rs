//! `pkg`/`pkgrepo` state functions called directly through a `StateCall`,
//! on paths that change nothing (absent packages and repos, test mode),
//! with the expected returns taken from Salt 3007.8 runs. Needs dpkg, not
//! root; the real-effect comparison with Salt is `state_pkg.rs`.

use brine_core::fileclient::LocalFileClient;
use brine_core::value::{Map, Value};
use brine_minion::modules::Context;
use brine_minion::states::{lookup, Ret, StateCall};

const MISSING: &str = "brine-no-such-package-xyz";

fn has_dpkg() -> bool {
    std::process::Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ctx() -> Context {
    // The refresh tag would go here; these paths never write it.
    let dir = std::env::temp_dir().join("brine-pkg-unit-cachedir-unused");
    let mut opts = Map::default();
    opts.insert(
        Value::from("cachedir"),
        Value::from(dir.display().to_string()),
    );
    Context::new(Value::Map(opts))
}

fn run(ctx: &Context, state: &str, fun: &str, test: bool, args: &[(&str, Value)]) -> Ret {
    let mut low = Map::default();
    low.insert(Value::from("state"), Value::from(state));
    low.insert(Value::from("fun"), Value::from(fun));
    for (k, v) in args {
        low.insert(Value::from(*k), v.clone());
    }
    let files = LocalFileClient::new(Default::default());
    let running = Map::default();
    let call = StateCall {
        ctx,
        low: &low,
        test,
        saltenv: "base",
        files: &files,
        running: &running,
    };
    let f = lookup(state, fun).expect("registered");
    (f.fun)(&call).expect("state ran")
}

#[test]
fn absent_packages_and_repos() {
    if !has_dpkg() {
        eprintln!("skipped: needs dpkg");
        return;
    }
    let ctx = ctx();
    let name = ("name", Value::from(MISSING));
    let r = run(&ctx, "pkg", "removed", false, std::slice::from_ref(&name));
    assert_eq!(r.result, Some(true));
    assert_eq!(
        r.comment,
        Value::from("All specified packages are already absent")
    );
    assert!(r.changes.is_empty());
    let r = run(&ctx, "pkg", "purged", true, std::slice::from_ref(&name));
    assert_eq!(r.result, Some(true));
    assert_eq!(
        r.comment,
        Value::from("None of the targeted packages are installed or partially installed")
    );
    let r = run(
        &ctx,
        "pkg",
        "removed",
        false,
        &[name.clone(), ("version", Value::from("1.0"))],
    );
    assert_eq!(
        r.comment,
        // A version only counts for packages that are installed.
        Value::from("All specified packages are already absent")
    );
    let r = run(
        &ctx,
        "pkg",
        "installed",
        false,
        &[name, ("pkgs", Value::List(vec![]))],
    );
    assert_eq!(r.comment, Value::from("No packages to install provided"));
    let line = "deb [trusted=yes] file:/nonexistent/brine ./";
    let r = run(
        &ctx,
        "pkgrepo",
        "absent",
        false,
        &[("name", Value::from(line))],
    );
    assert_eq!(r.result, Some(true));
    assert_eq!(
        r.comment,
        Value::from(format!("Package repo {line} is absent"))
    );
    let r = run(
        &ctx,
        "pkgrepo",
        "managed",
        true,
        &[("name", Value::from(line))],
    );
    assert_eq!(r.result, None);
    assert_eq!(
        r.changes.get(&Value::from("repo")),
        Some(&Value::from(line))
    );
    let r = run(
        &ctx,
        "pkgrepo",
        "managed",
        false,
        &[("name", Value::from(line)), ("repo", Value::from("x"))],
    );
    assert_eq!(r.result, Some(false));
    assert!(str_of(&r.comment).starts_with("'repo' is not a supported argument"));
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join("brine-pkg-unit-cachedir-unused"));
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

#[test]
fn execution_functions() {
    let ctx = ctx();
    let cmp = |a: &str, b: &str| {
        ctx.call_raw(
            "pkg.version_cmp",
            vec![Value::from(a), Value::from(b)],
            Map::default(),
        )
        .unwrap()
    };
    assert_eq!(cmp("1:1.0-2", "1.0~rc1"), Value::Int(1));
    assert_eq!(cmp("1.0~rc1", "1.0"), Value::Int(-1));
    assert_eq!(cmp("1.0-", "1.0"), Value::Null);
    if has_dpkg() {
        let v = ctx
            .call_raw("pkg.version", vec![Value::from(MISSING)], Map::default())
            .unwrap();
        assert_eq!(v, Value::from(""));
        let v = ctx
            .call_raw("pkg.version", vec![Value::from("dpkg")], Map::default())
            .unwrap();
        assert!(!str_of(&v).is_empty());
    }
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join("brine-pkg-unit-cachedir-unused"));
}
