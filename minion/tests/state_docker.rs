//! `docker_image.present` (with `load:`) and `docker_image.absent`.
//!
//! No docker daemon runs on the build machine and Salt's own docker module
//! needs docker-py (absent from the reference venv, so Salt cannot run
//! these states there): the states run through `brine-call` against a fake
//! `docker` (tests/data/fake_docker.py, first on PATH) that keeps images
//! in a scratch directory and records every call ([`FAKE_DOCKER`]). Expectations follow
//! salt/states/docker_image.py.

use serde_json::{json, Value};
use std::path::PathBuf;

/// A stand-in for the docker CLI (python3): the subset Brine's docker
/// module calls, images kept as JSON in `$FAKE_DOCKER_DIR`, every call
/// appended to `$FAKE_DOCKER_DIR/calls`.
const FAKE_DOCKER: &str = r#"#!/usr/bin/env python3
"""A stand-in for the docker CLI (no daemon here): the subset Brine's
docker module calls, with images kept as JSON in $FAKE_DOCKER_DIR, and
every call appended to $FAKE_DOCKER_DIR/calls."""
import hashlib, json, os, sys

d = os.environ["FAKE_DOCKER_DIR"]
db_path = os.path.join(d, "images.json")
db = json.load(open(db_path)) if os.path.exists(db_path) else {}
args = sys.argv[1:]
with open(os.path.join(d, "calls"), "a") as f:
    f.write(" ".join(args) + "\n")

def save():
    json.dump(db, open(db_path, "w"))

def find(name):
    for i, img in db.items():
        if name in (i, i[7:], i[7:19]) or name in img["tags"] or name + ":latest" in img["tags"]:
            return i
    return None

if args[:2] == ["image", "inspect"]:
    i = find(args[2])
    if i is None:
        sys.stderr.write("Error response from daemon: No such image: %s\n" % args[2])
        sys.exit(1)
    print(json.dumps([{"Id": i, "RepoTags": db[i]["tags"], "Size": db[i]["size"]}]))
elif args[:2] == ["image", "ls"]:
    for i, img in db.items():
        for t in img["tags"] or ["<none>:<none>"]:
            r, _, tag = t.rpartition(":")
            print(json.dumps({"ID": i, "Repository": r, "Tag": tag}))
elif args[0] == "load":
    data = open(args[2], "rb").read()
    i = "sha256:" + hashlib.sha256(data).hexdigest()
    db.setdefault(i, {"tags": [], "size": len(data)})
    save()
    print("Loaded image ID: " + i)
elif args[0] == "tag":
    src = find(args[1])
    for img in db.values():
        if args[2] in img["tags"]:
            img["tags"].remove(args[2])
    db[src]["tags"].append(args[2])
    save()
elif args[0] == "rmi":
    i = find(args[-1])
    del db[i]
    save()
    print("Deleted: " + i)
else:
    sys.stderr.write("fake docker: unsupported: %s\n" % " ".join(args))
    sys.exit(1)
"#;
use std::process::Command;

struct Env {
    dir: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = std::env::temp_dir().join(format!("brine-h5-docker-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["bin", "srv", "fake", "root"] {
            std::fs::create_dir_all(dir.join(sub)).expect("scratch");
        }
        let fake = dir.join("bin/docker");
        std::fs::write(&fake, FAKE_DOCKER).expect("fake docker");
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("fake docker mode");
        let r = dir.join("root");
        std::fs::write(
            dir.join("minion"),
            format!(
                "id: h5\nfile_client: local\nroot_dir: {r}\ncachedir: {r}/cache\npki_dir: {r}/pki\nsock_dir: {r}/sock\nlog_file: {r}/log\nfile_roots:\n  base: [{}]\n",
                dir.join("srv").display(),
                r = r.display()
            ),
        )
        .expect("config");
        Env { dir }
    }

    fn call(&self, words: &[&str]) -> Value {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new(env!("CARGO_BIN_EXE_brine-call"))
            .args(["--local", "-c"])
            .arg(&self.dir)
            .args(["--out", "json"])
            .args(words)
            .env("PATH", path)
            .env("FAKE_DOCKER_DIR", self.dir.join("fake"))
            .output()
            .expect("brine-call");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "bad output: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let local = v["local"].clone();
        match local.as_object().and_then(|m| m.values().next()) {
            Some(r) if r.get("comment").is_some() => r.clone(),
            _ => local,
        }
    }

    fn state(&self, fun: &str, args: &[&str]) -> Value {
        let mut w = vec!["state.single", fun];
        w.extend(args);
        self.call(&w)
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.join("fake/calls")).unwrap_or_default()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn python3() -> bool {
    Command::new("python3")
        .arg("-c")
        .arg("1")
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn docker_image_load_and_absent() {
    if !python3() {
        eprintln!("skipped: the fake docker needs python3");
        return;
    }
    let env = Env::new();
    std::fs::write(env.dir.join("srv/img.tar"), b"image one").expect("tarball");
    let load = ["name=h5img", "tag=v1", "load=salt://img.tar"];

    let r = env.state(
        "docker_image.present",
        &[&load[..], &["test=True"]].concat(),
    );
    assert_eq!(r["result"], Value::Null, "{r}");
    assert_eq!(r["comment"], "Image h5img:v1 will be loaded");

    let r = env.state("docker_image.present", &load);
    assert_eq!(r["result"], true, "{r}");
    assert_eq!(r["comment"], "Image 'h5img:v1' was loaded");
    assert_eq!(r["changes"]["Image"], "h5img:v1");
    assert_eq!(r["changes"]["Path"], "salt://img.tar");
    assert_eq!(r["changes"]["Layers"].as_array().map(Vec::len), Some(1));
    assert!(r["changes"]["Time_Elapsed"].is_number());
    assert!(env.calls().contains("load -i "), "{}", env.calls());
    assert!(env.calls().contains("tag sha256:"), "{}", env.calls());

    let r = env.state("docker_image.present", &load);
    assert_eq!(
        r,
        json!({"name": "h5img", "changes": {}, "result": true,
        "comment": "Image h5img:v1 already present"})
        .as_object()
        .map(|o| {
            let mut m = r.as_object().cloned().unwrap_or_default();
            for (k, v) in o {
                m.insert(k.clone(), v.clone());
            }
            Value::Object(m)
        })
        .unwrap_or_default()
    );
    let loads = env.calls().matches("load -i").count();

    // A new tarball for the same name:tag is loaded again (Brine records
    // the tarball it loaded; Salt would report "already present").
    std::fs::write(env.dir.join("srv/img.tar"), b"image two").expect("tarball");
    let r = env.state(
        "docker_image.present",
        &[&load[..], &["test=True"]].concat(),
    );
    assert_eq!(r["comment"], "Image h5img:v1 will be loaded", "{r}");
    let r = env.state("docker_image.present", &load);
    assert_eq!(r["comment"], "Image 'h5img:v1' was loaded", "{r}");
    assert_eq!(env.calls().matches("load -i").count(), loads + 1);
    let r = env.state("docker_image.present", &load);
    assert_eq!(r["comment"], "Image h5img:v1 already present", "{r}");

    let r = env.state(
        "docker_image.present",
        &["name=h5img", "load=salt://img.tar"],
    );
    assert_eq!(r["result"], false);
    assert_eq!(
        r["comment"],
        "The 'tag' argument is required if any one of 'build', 'load', or 'sls' is used."
    );
    let r = env.state(
        "docker_image.present",
        &["name=h5img", "tag=v1", "load=x", "build=y"],
    );
    assert_eq!(
        r["comment"],
        "Only one of 'build', 'load', or 'sls' is permitted."
    );
    let r = env.state(
        "docker_image.present",
        &["name=h5new", "tag=v1", "load=salt://missing.tar"],
    );
    assert_eq!(r["result"], false);
    assert_eq!(
        r["comment"],
        "Encountered error loading salt://missing.tar as h5new:v1: Source file salt://missing.tar does not exist"
    );
    let r = env.state(
        "docker_image.present",
        &["name=h5img", "tag=[1, 2]", "load=x"],
    );
    assert_eq!(r["result"], false, "{r}");

    let r = env.call(&["docker.list_tags"]);
    assert_eq!(r, json!(["h5img:v1"]));

    let r = env.state("docker_image.absent", &["name=h5img:v1", "test=True"]);
    assert_eq!(r["comment"], "Image h5img:v1 will be removed", "{r}");
    let r = env.state("docker_image.absent", &["name=h5img:v1"]);
    assert_eq!(r["result"], true, "{r}");
    assert_eq!(r["comment"], "Image h5img:v1 was removed");
    assert_eq!(r["changes"]["Tags"], json!(["h5img:v1"]));
    assert_eq!(r["changes"]["retcode"], 0);
    let r = env.state("docker_image.absent", &["name=h5img:v1"]);
    assert_eq!(r["comment"], "Image h5img:v1 is not present", "{r}");
    let r = env.state("docker_image.absent", &["name=h5x", "images=[a, b]"]);
    assert_eq!(r["comment"], "All specified images are not present", "{r}");
}
