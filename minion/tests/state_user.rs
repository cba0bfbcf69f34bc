//! `user.present` / `user.absent` against real Salt 3007.8, each side in a
//! private mount namespace over throw-away /etc, /home (see the harness).

#[path = "state_user_harness.rs"]
mod harness;

use harness::{compare, step, test_step};
use serde_json::json;

#[test]
fn harness_child() {
    harness::child();
}

/// The accounts' lines (the shadow's last-change day blanked: it is today
/// on both sides, but a run may straddle midnight).
const INSPECT: &str = "grep -E '^h5' /etc/passwd; grep -E '^h5' /etc/group; \
    grep -E '^h5' /etc/shadow | awk -F: 'BEGIN{OFS=\":\"}{$3=\"D\"; print}'; \
    ls -ld /home/h5* /tmp/h5home* 2>/dev/null | awk '{print $1, $3, $4, $NF}'";

#[test]
fn user_states_match_salt() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let setup = "groupadd -g 4500 h5ga; groupadd -g 4501 h5gb; groupadd -g 4502 h5gc; \
        useradd -M -u 4650 -p '$6$salt$egUxKNxDs8kPfh8iPMNcosMhb2eWah6d3R44JDm5Rj/j/XWR5E33QPd0YmHXoDHOIDR6kL5D3JcQcz0O8FHE00' h5h";
    let hash = "$6$salt$IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMuTS4XMS130MTSuDDl3aCI6WouIL9AjRbLCelDCy.g.";
    let steps = vec![
        test_step("user.present", json!({"name": "h5u", "uid": 4600})),
        step(
            "user.present",
            json!({"name": "h5u", "uid": 4600, "shell": "/bin/bash",
            "fullname": "H Five", "roomnumber": "12", "groups": ["h5ga"]}),
        ),
        step(
            "user.present",
            json!({"name": "h5u", "uid": 4600, "shell": "/bin/bash",
            "fullname": "H Five", "roomnumber": "12", "groups": ["h5ga"]}),
        ),
        test_step(
            "user.present",
            json!({"name": "h5u", "shell": "/bin/sh", "groups": ["h5gb"],
            "password": hash}),
        ),
        step(
            "user.present",
            json!({"name": "h5u", "shell": "/bin/sh", "groups": ["h5gb"],
            "workphone": "555", "password": hash}),
        ),
        step(
            "user.present",
            json!({"name": "h5u", "optional_groups": ["h5gc", "nosuch"],
            "remove_groups": false}),
        ),
        step("user.present", json!({"name": "h5u", "uid": 4601})),
        step("user.present", json!({"name": "h5u", "gid": "h5gb"})),
        step(
            "user.present",
            json!({"name": "h5u", "gid": "h5gb", "allow_gid_change": true}),
        ),
        step(
            "user.present",
            json!({"name": "h5u", "groups": ["nosuch1", "nosuch2"]}),
        ),
        step("user.present", json!({"name": "h5u", "fullname": "a,b"})),
        step(
            "user.present",
            json!({"name": "h5u", "home": "/tmp/h5home-x", "empty_password": true}),
        ),
        step(
            "user.present",
            json!({"name": "h5u", "password_lock": true}),
        ),
        step(
            "user.present",
            json!({"name": "h5s", "system": true, "createhome": false,
            "shell": "/usr/sbin/nologin", "home": "/nonexistent", "empty_password": true}),
        ),
        step(
            "user.present",
            json!({"name": "h5p", "gid": 4502, "home": "/home/h5p-home",
            "password": hash, "mindays": 2, "warndays": 9}),
        ),
        test_step("user.absent", json!({"name": "h5u"})),
        step("user.absent", json!({"name": "h5u", "purge": true})),
        step("user.absent", json!({"name": "h5u"})),
        step("user.absent", json!({"name": "h5p"})),
        step(
            "user.present",
            json!({"name": "h5t", "uid": 4600, "usergroup": true}),
        ),
        step(
            "user.present",
            json!({"name": "h5u", "uid": "notanint", "gid": "nosuchgroup"}),
        ),
        step(
            "user.present",
            json!({"name": "h5h", "password": "secret", "hash_password": true}),
        ),
        test_step(
            "user.present",
            json!({"name": "h5h", "password": "other", "hash_password": true}),
        ),
        step(
            "user.present",
            json!({"name": "h5h", "password": "other", "hash_password": true}),
        ),
    ];
    let n = compare(setup, &steps, INSPECT, &[]);
    eprintln!(
        "user: {n} comparisons with Salt agree ({})",
        harness::brine_mode()
    );
}

#[test]
fn user_functions_match_salt() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    use harness::exec_step as x;
    let setup = "groupadd -g 4500 h5ga; groupadd -g 4501 h5gb";
    let steps = vec![
        x("user.info", &["h5v"]),
        x(
            "user.add",
            &[
                "h5v",
                "uid=4700",
                "shell=/bin/bash",
                "groups=h5ga",
                "fullname=Vee",
                "createhome=False",
            ],
        ),
        x("user.info", &["h5v"]),
        x("user.list_groups", &["h5v"]),
        x("user.chshell", &["h5v", "/bin/sh"]),
        x("user.chuid", &["h5v", "4701"]),
        x("user.chgid", &["h5v", "4501"]),
        x("user.chhome", &["h5v", "/tmp/h5v"]),
        x("user.chgroups", &["h5v", "h5ga,h5gb"]),
        x("user.chgroups", &["h5v", "h5ga", "append=True"]),
        x("user.chfullname", &["h5v", "Vee Two"]),
        x("user.chother", &["h5v", "x"]),
        x("user.chuid", &["nosuch", "1"]),
        x("user.primary_group", &["h5v"]),
        x("user.getent", &[]),
        x("user.list_users", &[]),
        x("user.rename", &["h5v", "h5w"]),
        x("user.delete", &["h5w", "remove=True"]),
        x("user.delete", &["h5w"]),
        x("user.add", &["h5v", "uid=notanumber"]),
    ];
    let n = compare(setup, &steps, INSPECT, &[]);
    eprintln!("user functions: {n} comparisons with Salt agree");
}

/// Wrong argument types are failed states naming the argument (Salt
/// raises a TypeError deep inside, or misreads them).
#[test]
fn user_wrong_types_fail_cleanly() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let steps = vec![
        step("user.present", json!({"name": "h5u", "groups": {"a": 1}})),
        step("user.present", json!({"name": "h5u", "uid": [1]})),
        step("user.present", json!({"name": "h5u", "shell": ["/bin/sh"]})),
        step("user.present", json!({"name": "h5u", "createhome": [1]})),
        step("user.present", json!({"name": "h5u", "mindays": "soon"})),
        step("user.absent", json!({"name": "h5u", "purge": {"x": 1}})),
    ];
    let out = harness::run_side(false, "", &steps, "grep -c '^h5u:' /etc/passwd", &[]);
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
