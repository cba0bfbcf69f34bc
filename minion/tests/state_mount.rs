//! `mount.mounted` / `mount.unmounted` and the mount functions against
//! real Salt 3007.8, each side in its own mount namespace (tmpfs and bind
//! mounts stay inside it; /etc/fstab and /root are throw-away overlays).

#[path = "state_user_harness.rs"]
mod harness;

use harness::{compare, exec_step as x, step, test_step};
use serde_json::json;

#[test]
fn harness_child() {
    harness::child();
}

const INSPECT: &str = "grep h5 /etc/fstab; findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS | grep '^/root/h5' | sort; ls -d /root/h5*";

#[test]
fn mount_states_match_salt() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let m = |extra: serde_json::Value| {
        let mut base = json!({"name": "/root/h5m", "device": "tmpfs", "fstype": "tmpfs"});
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        base
    };
    let steps = vec![
        test_step("mount.mounted", m(json!({"mkmnt": true}))),
        test_step("mount.mounted", m(json!({}))),
        step("mount.mounted", m(json!({}))),
        step(
            "mount.mounted",
            m(json!({"mkmnt": true, "opts": "size=10m,mode=755"})),
        ),
        step(
            "mount.mounted",
            m(json!({"mkmnt": true, "opts": "size=10m,mode=755"})),
        ),
        test_step("mount.mounted", m(json!({"opts": "size=20m,mode=755"}))),
        step(
            "mount.mounted",
            m(json!({"opts": ["size=20m", "mode=755"], "dump": 1, "pass_num": 2})),
        ),
        step(
            "mount.mounted",
            m(json!({"opts": "size=20m,mode=755", "dump": 1, "pass_num": 2})),
        ),
        step(
            "mount.mounted",
            json!({"name": "/root/h5n/", "device": "tmpfs", "fstype": "tmpfs",
            "mkmnt": true, "persist": false, "opts": "noexec"}),
        ),
        step(
            "mount.mounted",
            json!({"name": "/root/h5o", "device": "tmpfs", "fstype": "tmpfs",
            "mkmnt": true, "mount": false}),
        ),
        step(
            "mount.mounted",
            json!({"name": "/root/h5p", "device": "tmpfs", "fstype": "tmpfs",
            "mount": false, "persist": false}),
        ),
        step(
            "mount.mounted",
            json!({"name": "/root/h5b", "device": "/root/h5m", "fstype": "none",
            "opts": "bind", "mkmnt": true}),
        ),
        step(
            "mount.mounted",
            json!({"name": "/root/h5b", "device": "/root/h5m", "fstype": "none",
            "opts": "bind", "mkmnt": true}),
        ),
        step(
            "mount.mounted",
            json!({"name": "/root/h5q", "device": "", "fstype": "tmpfs"}),
        ),
        test_step(
            "mount.unmounted",
            json!({"name": "/root/h5m", "persist": true}),
        ),
        step("mount.unmounted", json!({"name": "/root/h5b"})),
        step(
            "mount.unmounted",
            json!({"name": "/root/h5m", "persist": true}),
        ),
        step(
            "mount.unmounted",
            json!({"name": "/root/h5m", "persist": true}),
        ),
        step(
            "mount.unmounted",
            json!({"name": "/root/h5o", "persist": true, "device": "other"}),
        ),
        x("mount.is_mounted", &["/root/h5n"]),
        x("mount.fstab", &[]),
        x(
            "mount.set_fstab",
            &["/root/h5z", "tmpfs", "tmpfs", "opts=size=1m"],
        ),
        x(
            "mount.set_fstab",
            &["/root/h5z", "tmpfs", "tmpfs", "opts=size=2m"],
        ),
        x(
            "mount.set_fstab",
            &["/root/h5z", "tmpfs", "tmpfs", "opts=size=2m"],
        ),
        x("mount.rm_fstab", &["/root/h5z", "tmpfs"]),
        x("mount.umount", &["/root/h5n"]),
        x("mount.umount", &["/root/h5n"]),
        x("mount.mount", &["/root/h5n", "tmpfs", "fstype=tmpfs"]),
    ];
    let n = compare("", &steps, INSPECT, &[]);
    eprintln!(
        "mount: {n} comparisons with Salt agree ({})",
        harness::brine_mode()
    );
}

/// Where Salt raises (a traceback as the comment), Brine fails the state
/// with the error; wrong argument types fail cleanly.
#[test]
fn mount_errors_fail_cleanly() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let steps = vec![
        step(
            "mount.mounted",
            json!({"name": "/root/h5q", "device": "tmpfs", "fstype": "tmpfs",
            "config": "/etc/nonexistent-fstab", "mkmnt": true}),
        ),
        step(
            "mount.mounted",
            json!({"name": "/root/h5r", "device": "tmpfs", "fstype": "tmpfs",
            "opts": {"a": 1}}),
        ),
        step(
            "mount.mounted",
            json!({"name": "/root/h5r", "device": ["x"], "fstype": "tmpfs"}),
        ),
        step(
            "mount.unmounted",
            json!({"name": "/root/h5r", "persist": [1]}),
        ),
    ];
    let out = harness::run_side(false, "", &steps, "true", &[]);
    assert_eq!(out.results[0]["result"], false);
    assert_eq!(
        out.results[0]["comment"],
        "Bad config file \"/etc/nonexistent-fstab\""
    );
    for r in &out.results[1..] {
        assert_eq!(r["result"], false, "{r}");
        assert!(
            r["comment"]
                .as_str()
                .unwrap_or("")
                .starts_with("Invalid value for"),
            "{r}"
        );
    }
}

/// `watch` on a `mount.mounted` remounts through `mod_watch`.
#[test]
fn mount_mod_watch_matches_salt() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let sls = "trigger:\n  test.succeed_with_changes: []\n\
        /root/h5w:\n  mount.mounted:\n    - device: tmpfs\n    - fstype: tmpfs\n    - mkmnt: True\n    \
        - opts: size=5m\n    - persist: False\n    - watch:\n      - test: trigger\n";
    let steps = vec![harness::sls_step(sls), harness::sls_step(sls)];
    let n = compare("", &steps, INSPECT, &[]);
    eprintln!("mount mod_watch: {n} comparisons with Salt agree");
}
