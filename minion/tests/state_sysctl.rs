//! `sysctl.present` and the sysctl functions against real Salt 3007.8,
//! each side in fresh network and mount namespaces (per-namespace
//! `net.*` keys, a throw-away /etc; see the harness).

#[path = "state_user_harness.rs"]
mod harness;

use harness::{compare, exec_step as x, step, test_step};
use serde_json::json;

#[test]
fn harness_child() {
    harness::child();
}

const INSPECT: &str = "tail -n 4 /etc/sysctl.conf; cat /etc/sysctl.d/h5.conf; \
    sysctl -n net.ipv4.ip_forward net.ipv4.ip_local_port_range net.ipv4.tcp_syncookies";

#[test]
fn sysctl_matches_salt() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let steps = vec![
        x("sysctl.default_config", &[]),
        x("sysctl.get", &["net.ipv4.ip_forward"]),
        test_step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_forward", "value": 1}),
        ),
        step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_forward", "value": 1}),
        ),
        step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_forward", "value": 1}),
        ),
        test_step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_forward", "value": 1}),
        ),
        test_step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_forward", "value": 0}),
        ),
        step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_local_port_range",
            "value": "20000   40000", "config": "/etc/sysctl.d/h5.conf"}),
        ),
        step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_local_port_range",
            "value": "20000 40000", "config": "/etc/sysctl.d/h5.conf"}),
        ),
        test_step(
            "sysctl.present",
            json!({"name": "net.ipv4.tcp_syncookies", "value": 1,
            "config": "/etc/sysctl.d/h5.conf"}),
        ),
        step(
            "sysctl.present",
            json!({"name": "net.ipv4.no_such_key", "value": 1}),
        ),
        test_step(
            "sysctl.present",
            json!({"name": "net.ipv4.no_such_key", "value": 1}),
        ),
        step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_forward", "value": "abc"}),
        ),
        x("sysctl.assign", &["net.ipv4.tcp_syncookies", "0"]),
        x("sysctl.assign", &["net.ipv4.nope", "0"]),
        x(
            "sysctl.persist",
            &[
                "net.ipv4.tcp_syncookies",
                "1",
                "config=/etc/sysctl.d/h5.conf",
            ],
        ),
        x(
            "sysctl.persist",
            &[
                "net.ipv4.tcp_syncookies",
                "1",
                "config=/etc/sysctl.d/h5.conf",
            ],
        ),
        x("sysctl.show", &["config_file=/etc/sysctl.d/h5.conf"]),
        x("sysctl.show", &["config_file=/etc/nonexistent.conf"]),
    ];
    let n = compare("", &steps, INSPECT, &[]);
    eprintln!(
        "sysctl: {n} comparisons with Salt agree ({})",
        harness::brine_mode()
    );
}

/// Deliberately unlike Salt (which writes `[1]` into the config file and
/// then fails): a list value is a failed state naming the argument.
#[test]
fn sysctl_wrong_types_fail_cleanly() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let steps = vec![
        step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_forward", "value": [1]}),
        ),
        step(
            "sysctl.present",
            json!({"name": "net.ipv4.ip_forward", "value": 1, "config": {"a": 1}}),
        ),
    ];
    let out = harness::run_side(
        false,
        "",
        &steps,
        "grep -c '^net.ipv4.ip_forward' /etc/sysctl.conf",
        &[],
    );
    assert_eq!(
        out.results[0]["comment"],
        "Invalid value for 'value': expected a string or a number, got list ([1])"
    );
    assert_eq!(out.results[0]["result"], false);
    assert_eq!(out.results[1]["result"], false);
    assert!(out.results[1]["comment"]
        .as_str()
        .unwrap_or("")
        .contains("'config'"));
    assert_eq!(out.files.trim(), "0");
}
