//! Compare Brine's grains with the real `salt-call --local grains.items` of
//! Salt 3007.8 (from `.salt-venv` at the workspace root) on this machine.
//! Skipped, with a notice, when the venv is absent.

use brine_core::{Map, Value};
use std::path::PathBuf;
use std::process::Command;

/// Keys that must be present and equal.
const REQUIRED: &[&str] = &[
    "id",
    "host",
    "fqdn",
    "nodename",
    "domain",
    "localhost",
    "os",
    "os_family",
    "osrelease",
    "osrelease_info",
    "osmajorrelease",
    "osfinger",
    "oscodename",
    "osfullname",
    "osarch",
    "cpuarch",
    "kernel",
    "kernelrelease",
    "kernelversion",
    "num_cpus",
    "cpu_model",
    "cpu_flags",
    "mem_total",
    "swap_total",
    "ip4_interfaces",
    "ip6_interfaces",
    "ip_interfaces",
    "ipv4",
    "ipv6",
    "hwaddr_interfaces",
    "fqdn_ip4",
    "fqdn_ip6",
    "fqdns",
    "init",
    "virtual",
    "path",
    "shell",
    "saltversion",
    "saltversioninfo",
    "machine_id",
    "server_id",
    "dns",
    "gpus",
    "num_gpus",
    "uid",
    "gid",
    "username",
    "groupname",
    "cwd",
    "roles",
];

/// Python-only grains Brine deliberately does not produce, and the pid
/// (a different process).
const NOT_COMPARED: &[&str] = &[
    "pythonexecutable",
    "pythonpath",
    "pythonversion",
    "saltpath",
    "zmqversion",
    "pid",
];

/// Keys whose list order comes from a Python set in Salt.
const UNORDERED: &[&str] = &["fqdn_ip4", "fqdn_ip6"];

fn salt_call() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.salt-venv/bin/salt-call");
    p.exists().then_some(p)
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::List(l) => {
            let mut l = l.clone();
            l.sort_by_key(|a| a.to_json().to_string());
            Value::List(l)
        }
        other => other.clone(),
    }
}

#[test]
fn grains_equal_salt() {
    let Some(salt) = salt_call() else {
        eprintln!("NOTICE: .salt-venv not found; skipping grains comparison with Salt");
        return;
    };
    let dir = std::env::temp_dir().join(format!("brine-grains-test-{}", std::process::id()));
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).expect("create temp config dir");
    let minion_conf = format!(
        "id: x\nfile_client: local\ncachedir: {d}/cache\nroot_dir: {d}/root\ngrains:\n  roles:\n    - kubernetes-master\n",
        d = dir.display()
    );
    std::fs::write(conf.join("minion"), &minion_conf).expect("write minion config");
    let out = Command::new(&salt)
        .args(["--local", "-c"])
        .arg(&conf)
        .args(["grains.items", "--out", "json"])
        .output()
        .expect("run salt-call");
    assert!(
        out.status.success(),
        "salt-call failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("salt-call json");
    let salt_grains = Value::from_json(&json["local"]);
    let salt_map = salt_grains.as_map().expect("grains map").clone();

    let mut opts = Map::default();
    opts.insert(Value::str("id"), Value::str("x"));
    let mut statics = Map::default();
    statics.insert(
        Value::str("roles"),
        Value::List(vec![Value::str("kubernetes-master")]),
    );
    opts.insert(Value::str("grains"), Value::Map(statics));
    let ours = brine_minion::grains::grains(&Value::Map(opts));

    let mut failures = Vec::new();
    for key in REQUIRED {
        if !ours.contains_key(&Value::str(*key)) {
            failures.push(format!("missing required grain {key}"));
        }
    }
    let mut compared = 0;
    for (k, v) in &ours {
        let key = k.as_str().unwrap_or("");
        if NOT_COMPARED.contains(&key) {
            continue;
        }
        match salt_map.get(k) {
            None => failures.push(format!("Brine produces {key}, Salt does not")),
            Some(sv) => {
                compared += 1;
                let (a, b) = if UNORDERED.contains(&key) {
                    (sorted(v), sorted(sv))
                } else {
                    (v.clone(), sv.clone())
                };
                if a != b {
                    failures.push(format!("{key}: brine={} salt={}", a.to_json(), b.to_json()));
                }
            }
        }
    }
    for k in salt_map.keys() {
        let key = k.as_str().unwrap_or("");
        if !ours.contains_key(k) && !NOT_COMPARED.contains(&key) {
            failures.push(format!("Salt produces {key}, Brine does not"));
        }
    }
    // Key order: the common keys appear in the same order.
    let ours_order: Vec<&Value> = ours.keys().filter(|k| salt_map.contains_key(*k)).collect();
    let salt_order: Vec<&Value> = salt_map.keys().filter(|k| ours.contains_key(*k)).collect();
    if ours_order != salt_order {
        failures.push("key order differs from Salt".to_string());
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("compared {compared} grains with Salt");
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
}

/// (name, os-release, lsb-release, debian_version) samples of common
/// distributions, written for this test.
const DISTROS: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    (
        "ubuntu-22.04",
        "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=jammy\n",
        Some("DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION=\"Ubuntu 22.04.3 LTS\"\n"),
        Some("bookworm/sid\n"),
    ),
    (
        "rocky-9",
        "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\nPLATFORM_ID=\"platform:el9\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\nCPE_NAME=\"cpe:/o:rocky:rocky:9::baseos\"\n",
        None,
        None,
    ),
    (
        "fedora-39",
        "NAME=\"Fedora Linux\"\nVERSION=\"39 (Container Image)\"\nID=fedora\nVERSION_ID=39\nVERSION_CODENAME=\"\"\nPRETTY_NAME=\"Fedora Linux 39 (Container Image)\"\nCPE_NAME=\"cpe:/o:fedoraproject:fedora:39\"\n",
        None,
        None,
    ),
    (
        "arch",
        "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\nANSI_COLOR=\"38;2;23;147;209\"\n",
        None,
        None,
    ),
    (
        "opensuse-leap-15.5",
        "NAME=\"openSUSE Leap\"\nVERSION=\"15.5\"\nID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\nVERSION_ID=\"15.5\"\nPRETTY_NAME=\"openSUSE Leap 15.5\"\nCPE_NAME=\"cpe:/o:opensuse:leap:15.5\"\n",
        None,
        None,
    ),
    (
        "almalinux-9",
        "NAME=\"AlmaLinux\"\nVERSION=\"9.3 (Shamrock Pampas Cat)\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"AlmaLinux 9.3 (Shamrock Pampas Cat)\"\nCPE_NAME=\"cpe:/o:almalinux:almalinux:9::baseos\"\n",
        None,
        None,
    ),
    (
        "centos-7",
        "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\nCPE_NAME=\"cpe:/o:centos:centos:7\"\n",
        None,
        None,
    ),
    (
        "debian-sid",
        "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nNAME=\"Debian GNU/Linux\"\nVERSION_CODENAME=trixie\nID=debian\n",
        None,
        Some("trixie/sid\n"),
    ),
    (
        "rhel-9",
        "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.3 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.3 (Plow)\"\nCPE_NAME=\"cpe:/o:redhat:enterprise_linux:9::baseos\"\n",
        None,
        None,
    ),
    (
        "amazon-2",
        "NAME=\"Amazon Linux\"\nVERSION=\"2\"\nID=\"amzn\"\nID_LIKE=\"centos rhel fedora\"\nVERSION_ID=\"2\"\nPRETTY_NAME=\"Amazon Linux 2\"\nCPE_NAME=\"cpe:2.3:o:amazon:amazon_linux:2\"\n",
        None,
        None,
    ),
    (
        "mint-21",
        "NAME=\"Linux Mint\"\nVERSION=\"21.2 (Victoria)\"\nID=linuxmint\nID_LIKE=\"ubuntu debian\"\nPRETTY_NAME=\"Linux Mint 21.2\"\nVERSION_ID=\"21.2\"\nVERSION_CODENAME=victoria\nUBUNTU_CODENAME=jammy\n",
        Some("DISTRIB_ID=LinuxMint\nDISTRIB_RELEASE=21.2\nDISTRIB_CODENAME=victoria\nDISTRIB_DESCRIPTION=\"Linux Mint 21.2 Victoria\"\n"),
        None,
    ),
    (
        "alpine-3.19",
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.0\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
        None,
        None,
    ),
];

#[test]
fn distribution_samples_equal_salt() {
    let Some(salt) = salt_call() else {
        eprintln!("NOTICE: .salt-venv not found; skipping distribution comparison with Salt");
        return;
    };
    let python = salt.with_file_name("python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/salt_distro.py");
    let mut failures = Vec::new();
    for (name, os_release, lsb, debian_version) in DISTROS {
        let root =
            std::env::temp_dir().join(format!("brine-distro-{}-{}", std::process::id(), name));
        let etc = root.join("etc");
        std::fs::create_dir_all(&etc).expect("create fake root");
        std::fs::write(etc.join("os-release"), os_release).expect("write os-release");
        if let Some(l) = lsb {
            std::fs::write(etc.join("lsb-release"), l).expect("write lsb-release");
        }
        if let Some(d) = debian_version {
            std::fs::write(etc.join("debian_version"), d).expect("write debian_version");
        }
        let out = Command::new(&python)
            .arg(&script)
            .arg(&root)
            .output()
            .expect("run salt python");
        let _ = std::fs::remove_dir_all(&root);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let expected = Value::from_json(&json);

        let mut ours =
            brine_minion::grains::os::distribution_from(Some(os_release), *lsb, *debian_version);
        let get = |m: &Map, k: &str| {
            m.get(&Value::str(k))
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let rel = get(&ours, "osrelease");
        if !rel.is_empty() {
            let extra = brine_minion::grains::os::osrelease_data(
                &get(&ours, "os"),
                &get(&ours, "osfullname"),
                &rel,
            );
            for (k, v) in extra {
                ours.insert(k, v);
            }
        }
        let ours = Value::Map(ours);
        if ours != expected
            || ours.as_map().map(|m| m.keys().collect::<Vec<_>>())
                != expected.as_map().map(|m| m.keys().collect::<Vec<_>>())
        {
            failures.push(format!(
                "{name}:\n  brine={}\n  salt ={}",
                ours.to_json(),
                expected.to_json()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The Kubernetes state tree in `states/` + `pillar/` compiles under real
/// Salt for both roles (set as static grains), without errors.
#[test]
fn kubernetes_tree_compiles_under_salt() {
    let Some(salt) = salt_call() else {
        eprintln!("NOTICE: .salt-venv not found; skipping state tree check");
        return;
    };
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let repo = repo.canonicalize().expect("repo root");
    for (role, id, min_chunks) in [
        ("kubernetes-master", "kubernetes-master", 30),
        ("kubernetes-pool", "kubernetes-minion-1", 15),
    ] {
        let dir = std::env::temp_dir().join(format!("brine-k8s-{}-{role}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let conf = format!(
            "id: {id}\nfile_client: local\ncachedir: {d}/cache\nroot_dir: {d}/root\nfile_roots:\n  base:\n    - {r}/states\npillar_roots:\n  base:\n    - {r}/pillar\ngrains:\n  roles:\n    - {role}\n",
            d = dir.display(),
            r = repo.display()
        );
        std::fs::write(dir.join("minion"), conf).expect("write config");
        let out = Command::new(&salt)
            .args(["--local", "-c"])
            .arg(&dir)
            .args(["--out", "json", "state.show_lowstate"])
            .output()
            .expect("run salt-call");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "{role}: salt-call failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let chunks = json["local"].as_array().unwrap_or_else(|| {
            panic!(
                "{role}: expected a list of low chunks, got {}",
                json["local"]
            )
        });
        assert!(
            chunks.len() >= min_chunks && chunks.iter().all(|c| c.is_object()),
            "{role}: unexpected lowstate {}",
            json["local"]
        );
    }
}
