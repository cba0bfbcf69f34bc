//! `cron.present` / `cron.absent` / `cron.env_present` and the cron
//! functions against real Salt 3007.8, each side in a private mount
//! namespace over a throw-away /var/spool (see the harness). Needs the
//! `crontab` binary (Debian package `cron`): installed with apt-get when
//! missing, else the test is skipped.

#[path = "state_user_harness.rs"]
mod harness;

use harness::{compare, exec_step as x, step, test_step};
use serde_json::json;

#[test]
fn harness_child() {
    harness::child();
}

/// The crontabs, without Debian's header (it names the temp file).
const INSPECT: &str = "crontab -l | sed 1,3d; echo ---; crontab -u h5c -l | sed 1,3d";

fn crontab_available() -> bool {
    let has = || brine_minion::modules::cmd::path_which("crontab").is_some();
    if has() {
        return true;
    }
    let install = |args: &[&str]| {
        std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install(&["install", "-y", "--no-install-recommends", "cron"]) {
        install(&["update"]);
        install(&["install", "-y", "--no-install-recommends", "cron"]);
    }
    has()
}

#[test]
fn cron_states_match_salt() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    if !crontab_available() {
        eprintln!("skipped: no crontab binary (apt-get install cron)");
        return;
    }
    let setup = "crontab -r 2>/dev/null; useradd -M h5c; printf '# existing\\nMAILTO=root\\n5 4 * * * /bin/old\\n' | crontab -";
    let steps = vec![
        test_step(
            "cron.present",
            json!({"name": "/usr/bin/h5job", "minute": 5}),
        ),
        step(
            "cron.present",
            json!({"name": "/usr/bin/h5job", "minute": 5, "hour": "*/2"}),
        ),
        step(
            "cron.present",
            json!({"name": "/usr/bin/h5job", "minute": 5, "hour": "*/2"}),
        ),
        test_step(
            "cron.present",
            json!({"name": "/usr/bin/h5job", "minute": 5, "hour": "*/2"}),
        ),
        test_step(
            "cron.present",
            json!({"name": "/usr/bin/h5job", "minute": 6}),
        ),
        step(
            "cron.present",
            json!({"name": "/usr/bin/h5job", "minute": 6, "comment": "every hour"}),
        ),
        step(
            "cron.present",
            json!({"name": "/usr/bin/h5job --changed", "identifier": "/usr/bin/h5job",
            "minute": 6, "commented": true}),
        ),
        step(
            "cron.present",
            json!({"name": "/usr/bin/h5two", "identifier": "two", "dayweek": "1-5",
            "month": "Jan", "daymonth": 3}),
        ),
        step(
            "cron.present",
            json!({"name": "/usr/bin/h5special", "special": "@hourly"}),
        ),
        step(
            "cron.present",
            json!({"name": "/usr/bin/h5special", "special": "@daily",
            "comment": "daily now"}),
        ),
        test_step(
            "cron.present",
            json!({"name": "/usr/bin/h5special", "special": "@daily",
            "comment": "daily now"}),
        ),
        step(
            "cron.present",
            json!({"name": "/usr/bin/h5user", "user": "h5c", "minute": 1}),
        ),
        step(
            "cron.present",
            json!({"name": "/usr/bin/h5nouser", "user": "nosuchuser"}),
        ),
        test_step(
            "cron.env_present",
            json!({"name": "PATH", "value": "/usr/bin:/bin"}),
        ),
        step(
            "cron.env_present",
            json!({"name": "PATH", "value": "/usr/bin:/bin"}),
        ),
        step(
            "cron.env_present",
            json!({"name": "PATH", "value": "/usr/bin:/bin"}),
        ),
        step("cron.env_present", json!({"name": "PATH", "value": "/bin"})),
        step("cron.env_present", json!({"name": "EMPTY"})),
        step("cron.env_present", json!({"name": "EMPTY"})),
        step("cron.env_absent", json!({"name": "EMPTY"})),
        test_step("cron.absent", json!({"name": "/usr/bin/h5job"})),
        step(
            "cron.absent",
            json!({"name": "/usr/bin/h5job --changed", "identifier": "/usr/bin/h5job"}),
        ),
        step("cron.absent", json!({"name": "/usr/bin/h5job"})),
        step(
            "cron.absent",
            json!({"name": "/usr/bin/h5special", "special": "@daily"}),
        ),
        step("cron.absent", json!({"name": "/bin/old"})),
        x("cron.list_tab", &["root"]),
        x("cron.raw_cron", &["h5c"]),
        x(
            "cron.set_job",
            &["h5c", "1", "2", "3", "4", "5", "/bin/fromcli"],
        ),
        x(
            "cron.set_job",
            &["h5c", "1", "2", "3", "4", "5", "/bin/fromcli"],
        ),
        x(
            "cron.set_job",
            &["h5c", "1", "2", "3", "4", "6", "/bin/fromcli", "comment=x"],
        ),
        x("cron.get_entry", &["h5c", "cmd=/bin/fromcli"]),
        x("cron.set_special", &["h5c", "@reboot", "/bin/boot"]),
        x("cron.set_env", &["h5c", "A", "b"]),
        x("cron.rm_job", &["h5c", "/bin/fromcli"]),
        x("cron.rm_job", &["h5c", "/bin/fromcli"]),
        x("cron.rm_special", &["h5c", "/bin/boot"]),
        x("cron.rm_env", &["h5c", "A"]),
        x("cron.list_tab", &["h5c"]),
    ];
    let n = compare(setup, &steps, INSPECT, &[]);
    eprintln!(
        "cron: {n} comparisons with Salt agree ({})",
        harness::brine_mode()
    );
}

/// Wrong argument types are failed states naming the argument.
#[test]
fn cron_wrong_types_fail_cleanly() {
    if let Err(why) = harness::available() {
        eprintln!("skipped: {why}");
        return;
    }
    let steps = vec![
        step("cron.present", json!({"name": "/bin/x", "minute": [1, 2]})),
        step("cron.present", json!({"name": "/bin/x", "user": {"a": 1}})),
        step("cron.present", json!({"name": "/bin/x", "identifier": [1]})),
        step("cron.env_present", json!({"name": "A", "value": {"b": 1}})),
    ];
    let out = harness::run_side(
        false,
        "crontab -r 2>/dev/null",
        &steps,
        "crontab -l 2>&1 | grep -c x",
        &[],
    );
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
