//! `group.present` / `group.absent` against real Salt 3007.8, each side in
//! a private mount namespace over a throw-away /etc (see the harness).

#[path = "state_user_harness.rs"]
mod harness;

use harness::{compare, step, test_step};
use serde_json::json;

#[test]
fn harness_child() {
    harness::child();
}

const INSPECT: &str = "grep -E '^h5' /etc/group; grep -E '^h5' /etc/gshadow";

#[test]
fn group_states_match_salt() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let setup = "useradd -M h5a; useradd -M h5b; useradd -M h5c";
    let steps = vec![
        test_step("group.present", json!({"name": "h5g", "gid": 4321})),
        step("group.present", json!({"name": "h5g", "gid": 4321})),
        step("group.present", json!({"name": "h5g", "gid": 4321})),
        step(
            "group.present",
            json!({"name": "h5g", "gid": 4322, "addusers": ["h5a", "h5b"]}),
        ),
        test_step("group.present", json!({"name": "h5g", "delusers": ["h5a"]})),
        step(
            "group.present",
            json!({"name": "h5g", "delusers": ["h5a", "h5c"]}),
        ),
        step(
            "group.present",
            json!({"name": "h5g", "members": ["h5c", "h5a"]}),
        ),
        step(
            "group.present",
            json!({"name": "h5g", "members": ["h5c"], "addusers": ["h5a"]}),
        ),
        step(
            "group.present",
            json!({"name": "h5g", "addusers": ["h5a"], "delusers": ["h5a"]}),
        ),
        step("group.present", json!({"name": "h5g", "gid": "abc"})),
        step(
            "group.present",
            json!({"name": "h5m", "system": true, "members": ["h5a", "h5b"]}),
        ),
        step("group.present", json!({"name": "h5n", "gid": 4322})),
        step("group.present", json!({"name": "h5g", "members": ["h5c"]})),
        // Python prints a set in hash order: one member keeps it stable.
        step("group.present", json!({"name": "h5g", "members": []})),
        test_step("group.absent", json!({"name": "h5m"})),
        step("group.absent", json!({"name": "h5m"})),
        step("group.absent", json!({"name": "h5m"})),
        step(
            "group.present",
            json!({"name": "h5o", "gid": 4400, "addusers": ["nosuchuser"]}),
        ),
    ];
    let n = compare(setup, &steps, INSPECT, &[]);
    eprintln!(
        "group: {n} comparisons with Salt agree ({})",
        harness::brine_mode()
    );
}

#[test]
fn group_functions_match_salt() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    use harness::exec_step as x;
    let setup = "useradd -M h5a; useradd -M h5b";
    let steps = vec![
        x("group.info", &["h5x"]),
        x("group.add", &["h5x", "4800"]),
        x("group.add", &["h5x", "4800"]),
        x("group.add", &["h5y", "system=True"]),
        x("group.info", &["h5x"]),
        x("group.adduser", &["h5x", "h5a"]),
        x("group.adduser", &["h5x", "nosuchuser"]),
        x("group.members", &["h5x", "h5a,h5b"]),
        x("group.deluser", &["h5x", "h5a"]),
        x("group.deluser", &["h5x", "h5a"]),
        x("group.chgid", &["h5x", "4801"]),
        x("group.chgid", &["nosuch", "4801"]),
        x("group.getent", &[]),
        x("group.delete", &["h5x"]),
        x("group.delete", &["h5x"]),
    ];
    let n = compare(setup, &steps, INSPECT, &[]);
    eprintln!("group functions: {n} comparisons with Salt agree");
}

/// Wrong argument types are failed states naming the argument.
#[test]
fn group_wrong_types_fail_cleanly() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let steps = vec![
        step("group.present", json!({"name": "h5g", "gid": [1]})),
        step("group.present", json!({"name": "h5g", "members": {"a": 1}})),
        step("group.present", json!({"name": "h5g", "system": [true]})),
    ];
    let out = harness::run_side(false, "", &steps, "grep -c '^h5g:' /etc/group", &[]);
    for r in &out.results {
        assert_eq!(r["result"], false, "{r}");
        assert!(
            r["comment"]
                .as_str()
                .unwrap_or("")
                .starts_with("Invalid value for"),
            "{r}"
        );
    }
    assert_eq!(out.files.trim(), "0");
}
