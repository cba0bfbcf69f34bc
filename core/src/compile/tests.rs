//! In-memory tests of the compiler passes, with expectations produced by
//! Salt 3007.8 (`salt-call --local --out json state.show_highstate` and
//! `state.show_lowstate` on the same tree). End-to-end comparisons that run
//! Salt live are in `core/tests/compile_salt.rs`.

use super::highstate::{apply_exclude, reconcile_extend, requisite_in, verify_high};
use super::lowstate::compile_high_data;
use super::util::k;
use super::Compiler;
use crate::fileclient::LocalFileClient;
use crate::functions::NoFunctions;
use crate::value::{Map, Value};

fn j(s: &str) -> Value {
    Value::from_json(&serde_json::from_str(s).expect("json"))
}

fn map(s: &str) -> Map {
    match j(s) {
        Value::Map(m) => m,
        other => panic!("not a map: {other:?}"),
    }
}

/// Salt's highstate of a formula (include, extend, require_in, watch_in,
/// names, order: last), before extend/requisite_in are applied.
const FORMULA_HIGH: &str = r#"{"vim":{"pkg":["installed",{"order":10000}],"__sls__":"common","__env__":"base"},"/etc/motd":{"file":[{"contents":"hello"},{"require":[{"pkg":"vim"}]},"managed",{"order":10001}],"__sls__":"common","__env__":"base"},"alice":{"user":[{"shell":"/bin/bash"},{"require_in":[{"file":"/etc/motd"}]},{"order":5},"present"],"__sls__":"common.users","__env__":"base","__sls_included_from__":["common"]},"__extend__":[{"/etc/motd":{"file":[{"mode":"0644"},{"require":[{"user":"alice"}]}],"__sls__":"web","__env__":"base"}}],"pkgs":{"pkg":[{"names":["curl",{"git":[{"version":1.2}]}]},{"watch_in":[{"service":"nginx"}]},"installed",{"order":10003}],"__sls__":"web","__env__":"base"},"nginx":{"pkg":["installed",{"order":10002}],"service":[{"enable":true},{"watch":[{"pkg":"nginx"}]},{"order":"last"},"running"],"__sls__":"web.nginx","__env__":"base","__sls_included_from__":["web"]}}"#;
/// Salt's lowstate for the same tree.
const FORMULA_LOW: &str = r#"[{"state":"user","name":"alice","__sls__":"common.users","__env__":"base","__sls_included_from__":["common"],"__id__":"alice","shell":"/bin/bash","require_in":[{"file":"/etc/motd"}],"order":5,"fun":"present"},{"state":"pkg","name":"vim","__sls__":"common","__env__":"base","__id__":"vim","order":10000,"fun":"installed"},{"state":"file","name":"/etc/motd","__sls__":"common","__env__":"base","__id__":"/etc/motd","contents":"hello","require":[{"pkg":"vim"},{"user":"alice"},{"user":"alice"}],"order":10001,"mode":"0644","fun":"managed"},{"state":"pkg","name":"nginx","__sls__":"web.nginx","__env__":"base","__sls_included_from__":["web"],"__id__":"nginx","order":10002,"fun":"installed"},{"state":"pkg","name":"curl","__sls__":"web","__env__":"base","__id__":"pkgs","watch_in":[{"service":"nginx"}],"order":10003.0001,"fun":"installed"},{"state":"pkg","name":"git","__sls__":"web","__env__":"base","__id__":"pkgs","watch_in":[{"service":"nginx"}],"order":10003.0002,"version":1.2,"fun":"installed"},{"state":"service","name":"nginx","__sls__":"web.nginx","__env__":"base","__sls_included_from__":["web"],"__id__":"nginx","enable":true,"watch":[{"pkg":"nginx"},{"pkg":"pkgs"}],"order":1010100,"fun":"running"}]"#;

#[test]
fn highstate_to_lowstate_matches_salt() {
    let opts = j(r#"{"id": "web01"}"#);
    let empty = Value::map();
    let files = LocalFileClient::default();
    let c = Compiler {
        opts: &opts,
        grains: &empty,
        pillar: &empty,
        functions: &NoFunctions,
        file_client: &files,
    };
    let low = c.high_to_low(map(FORMULA_HIGH), vec![]).expect("no errors");
    assert_eq!(low.to_json(), j(FORMULA_LOW).to_json());
}

#[test]
fn extend_errors_use_salt_wording() {
    // From Salt 3007.8: extending an ID that does not exist.
    let high = map(
        r#"{"__extend__": [{"ghost": {"file": [{"mode": 600}], "__sls__": "a", "__env__": "base"}}],
        "a1": {"test": ["nop", {"order": 10000}], "__sls__": "a", "__env__": "base"}}"#,
    );
    let (_, errors) = reconcile_extend(high, false);
    assert_eq!(errors, vec![
        "Cannot extend ID 'ghost' in 'base:a'. It is not part of the high state.\nThis is likely due to a missing include statement or an incorrectly typed ID.\nEnsure that a state with an ID of 'ghost' is available\nin environment 'base' and to SLS 'a'".to_string()
    ]);
}

#[test]
fn verify_high_messages() {
    // Wording from salt/state.py (State.verify_high), checked with salt-call.
    let high = map(r#"{
        "y": {"pkg": "installed", "__sls__": "bad", "__env__": "base"},
        "w": {"pkg": ["installed", "latest"], "__sls__": "bad", "__env__": "base"},
        "v": {"pkg": [{"names": "foo"}, {"require": "foo"}], "__sls__": "bad", "__env__": "base"},
        "z": {"pkg.installed": null, "__sls__": "bad", "__env__": "base"}}"#);
    assert_eq!(verify_high(&high), vec![
        "State 'y' in SLS 'bad' is not formed as a list".to_string(),
        "Too many functions declared in state 'w' in SLS 'bad'. Please choose one of the following: installed, latest".into(),
        "The 'names' argument in state 'v' in SLS 'bad' needs to be formed as a list".into(),
        "The require statement in state 'v' in SLS 'bad' needs to be formed as a list".into(),
        "No function declared in state 'v' in SLS 'bad'".into(),
        "ID 'z' in SLS 'bad' contains a short declaration (pkg.installed) with a trailing colon. When not passing any arguments to a state, the colon must be omitted.".into(),
    ]);
}

#[test]
fn require_in_list_accumulates_like_salt() {
    // Salt's requisite_in keeps its `hinges` list across the items of one
    // requisite_in list, so the first target gets the requisite twice
    // (seen in Salt 3007.8's show_lowstate: "require": [{"cmd": "a"}, {"cmd": "a"}]).
    let high = map(r#"{
        "a": {"cmd": [{"require_in": [{"cmd": "b"}, {"cmd": "c"}]}, "run"], "__sls__": "r", "__env__": "base"},
        "b": {"cmd": ["run"], "__sls__": "r", "__env__": "base"},
        "c": {"cmd": ["run"], "__sls__": "r", "__env__": "base"}}"#);
    let (high, errors) = requisite_in(high, None);
    assert!(errors.is_empty());
    assert_eq!(high[&k("b")].to_json(), j(r#"{"cmd": ["run", {"require": [{"cmd": "a"}, {"cmd": "a"}]}], "__sls__": "r", "__env__": "base"}"#).to_json());
    assert_eq!(
        high[&k("c")].to_json(),
        j(r#"{"cmd": ["run", {"require": [{"cmd": "a"}]}], "__sls__": "r", "__env__": "base"}"#)
            .to_json()
    );
}

#[test]
fn exclude_and_order() {
    let high = map(r#"{
        "__exclude__": [{"sls": "sub.*"}, {"id": "k2"}],
        "sa": {"test": ["nop", {"order": 10000}], "__sls__": "sub.a", "__env__": "base"},
        "k2": {"test": ["nop", {"order": 10001}], "__sls__": "keep", "__env__": "base"},
        "n": {"pkg": [{"names": ["b", "a"]}, "installed", {"order": 3}], "__sls__": "m", "__env__": "base"},
        "l": {"cmd": ["run", {"order": "last"}], "__sls__": "m", "__env__": "base"},
        "f": {"cmd": ["run", {"order": "first"}], "__sls__": "m", "__env__": "base"},
        "neg": {"cmd": ["run", {"order": -1}], "__sls__": "m", "__env__": "base"}}"#);
    let high = apply_exclude(high);
    assert!(!high.contains_key(&k("sa")) && !high.contains_key(&k("k2")));
    let low = compile_high_data(&high);
    let got: Vec<(String, String)> = low
        .iter()
        .map(|c| {
            (
                c.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                crate::compile::util::pstr(c.get("order").unwrap_or(&Value::Null)),
            )
        })
        .collect();
    // cap = 3 + 100 = 103; last = 1000103; -1 -> 1000102; names get .0001/.0002
    let want: Vec<(String, String)> = [
        ("f", "0"),
        ("b", "3.0001"),
        ("a", "3.0002"),
        ("neg", "1000102"),
        ("l", "1000103"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn state_sls_refuses_pillar_errors() {
    // Salt 3007.8 `salt-call --local state.sls a` with a missing pillar SLS.
    let opts = j(r#"{"id": "web01"}"#);
    let empty = Value::map();
    let pillar = j(
        r#"{"_errors": ["Specified SLS 'missing' in environment 'base' is not available on the salt master"]}"#,
    );
    let files = LocalFileClient::default();
    let c = Compiler {
        opts: &opts,
        grains: &empty,
        pillar: &pillar,
        functions: &NoFunctions,
        file_client: &files,
    };
    let err = c
        .sls_chunks(&["a".to_string()], "base", &[])
        .expect_err("pillar errors");
    assert_eq!(
        err,
        vec![
            "Pillar failed to render with the following messages:".to_string(),
            "Specified SLS 'missing' in environment 'base' is not available on the salt master"
                .into(),
        ]
    );
}
