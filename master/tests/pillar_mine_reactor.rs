//! The master's pillar, minion data cache, mine and reactor.
//!
//! - `_pillar` for two minions with different grains gives what
//!   `salt-call --local pillar.items` gives for the same pillar tree and
//!   grains (Salt 3007.8 from .salt-venv), `_errors`, `pillarenv` and
//!   `pillar_override` included. salt-call runs with `ssh_merge_pillar:
//!   false`: a masterless minion otherwise merges its startup pillar (all
//!   saltenvs) into `pillar.items`, which a master never does.
//! - The minion data cache (`cachedir/minions/<id>/data.p`) round-trips,
//!   has Salt's layout (Salt's own `salt.payload.load` reads it) and
//!   private permissions; `_master_opts` equals Salt's `AESFuncs._master_opts`.
//! - Mine put/get/delete/flush, minion-side `allow_tgt` ACLs, the master's
//!   `mine_get` ACL.
//! - Reactor: tag globs, a reactor SLS rendered with jinja over `tag` and
//!   `data`, both argument syntaxes, unsupported runner/wheel entries and
//!   render errors naming file and line; the calls agree with the chunks
//!   Salt's own `Reactor.reactions` compiles from the same files.

use brine_core::matcher::fnmatch::fnmatch;
use brine_core::value::{Map, Value};
use brine_master::mine::Mine;
use brine_master::pillar::{cached_data, handle_pillar, master_opts_reply};
use brine_master::reactor::{react, LocalCall};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn salt_bin(name: &str) -> Option<PathBuf> {
    let p = repo().join(".salt-venv/bin").join(name);
    if p.exists() && repo().join(".salt-venv/bin/salt-master").exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: .salt-venv/bin/salt-master is missing (run scripts/test.sh to create the venv)"
        );
        None
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("brine-pmr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn yaml_map(text: &str) -> Map {
    match brine_core::yaml::load(text).unwrap() {
        Value::Map(m) => m,
        other => panic!("not a map: {other:?}"),
    }
}

fn m(pairs: &[(&str, Value)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| (Value::str(*k), v.clone()))
        .collect()
}

fn write(p: &Path, text: &str) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

fn pillar_tree(dir: &Path) {
    write(
        &dir.join("top.sls"),
        "base:\n  '*':\n    - common\n  'role:web':\n    - match: grain\n    - web\n  'G@role:db and m2':\n    - match: compound\n    - db\n    - missing\n",
    );
    write(
        &dir.join("common.sls"),
        "{% set r = grains['role'] %}\ninclude:\n  - shared\ncommon:\n  id: {{ grains['id'] }}\n  role: {{ r }}\n  upper: {{ r | upper }}\n  list: [1, 2, {{ grains.get('num', 0) }}]\n  via_salt: {{ salt['grains.get']('role') }}\n",
    );
    write(
        &dir.join("shared.sls"),
        "shared:\n  a: 1\n  nested:\n    x: [1, 2]\ncommon:\n  from_shared: yes\n",
    );
    write(
        &dir.join("web.sls"),
        "web:\n  port: 80\ncommon:\n  extra: web\n",
    );
    write(
        &dir.join("db/init.sls"),
        "db:\n  engine: pg\n{% if grains['num'] > 1 %}  big: true\n{% endif %}",
    );
}

/// `salt-call --local pillar.items` for a minion with these grains.
fn salt_pillar(salt_call: &Path, t: &Path, case: &Case, proot: &Path) -> serde_json::Value {
    let Case {
        name, id, grains, ..
    } = *case;
    let conf = t.join(format!("conf-{name}"));
    let root = t.join(format!("root-{name}"));
    std::fs::create_dir_all(&conf).unwrap();
    write(
        &conf.join("minion"),
        &format!(
            "id: {id}\nroot_dir: {root}\ncachedir: {root}/cache\npki_dir: {root}/pki\nlog_file: {root}/log\nfile_client: local\n\
             pillar_roots:\n  base:\n    - {proot}\n  dev:\n    - {proot}-dev\nssh_merge_pillar: false\ngrains:\n{grains}",
            root = root.display(),
            proot = proot.display(),
        ),
    );
    let mut extra: Vec<String> = Vec::new();
    if let Some(env) = case.pillarenv {
        extra.push(format!("pillarenv={env}"));
    }
    if let Some(over) = case.pillar_override {
        extra.push(format!("pillar={over}"));
    }
    let out = Command::new(salt_call)
        .args(["--local", "-c"])
        .arg(&conf)
        .args(["--out", "json", "pillar.items"])
        .args(&extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "salt-call failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["local"].clone()
}

/// One `_pillar` request compared with salt-call.
struct Case {
    name: &'static str,
    id: &'static str,
    grains: &'static str,
    pillarenv: Option<&'static str>,
    /// JSON, as `pillar=` on the salt-call command line.
    pillar_override: Option<&'static str>,
}

#[test]
fn pillar_matches_salt_call_and_caches() {
    let Some(salt_call) = salt_bin("salt-call") else {
        return;
    };
    let t = scratch("pillar");
    let proot = t.join("pillar");
    pillar_tree(&proot);
    let cachedir = t.join("cache");
    let opts = yaml_map(&format!(
        "cachedir: {}\npki_dir: {}/pki\npillar_roots:\n  base:\n    - {p}\n  dev:\n    - {p}-dev\n",
        cachedir.display(),
        t.display(),
        p = proot.display()
    ));
    write(
        &t.join("pillar-dev/top.sls"),
        "dev:\n  'role:web':\n    - match: grain\n    - devonly\n",
    );
    write(
        &t.join("pillar-dev/devonly.sls"),
        "dev_only:\n  here: true\ncommon:\n  env: {{ saltenv }}\n",
    );
    let case = |name, id, grains, pillarenv, pillar_override| Case {
        name,
        id,
        grains,
        pillarenv,
        pillar_override,
    };
    let (web, db) = ("  role: web\n  num: 1\n", "  role: db\n  num: 2\n");
    let cases = [
        case("m1", "m1", web, None, None),
        case("m2", "m2", db, None, None),
        case("m1-dev", "m1", web, Some("dev"), None),
        case(
            "m2-override",
            "m2",
            db,
            None,
            Some(r#"{"db": {"engine": "mysql"}, "new": [1]}"#),
        ),
    ];
    // All salt-calls at once (each takes a second or two).
    let expected: Vec<serde_json::Value> = std::thread::scope(|sc| {
        let hs: Vec<_> = cases
            .iter()
            .map(|c| {
                let (salt_call, t, proot) = (&salt_call, &t, &proot);
                sc.spawn(move || salt_pillar(salt_call, t, c, proot))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (c, expect) in cases.iter().zip(&expected) {
        let grains = Value::Map(yaml_map(c.grains));
        let over = c
            .pillar_override
            .map(|o| Value::from_json(&serde_json::from_str(o).unwrap()))
            .unwrap_or(Value::map());
        let load = m(&[
            ("cmd", Value::str("_pillar")),
            ("id", Value::str(c.id)),
            ("grains", grains.clone()),
            ("saltenv", Value::Null),
            (
                "pillarenv",
                c.pillarenv.map(Value::str).unwrap_or(Value::Null),
            ),
            ("pillar_override", over),
            ("extra_minion_data", Value::map()),
            ("ver", Value::str("2")),
        ]);
        let got = handle_pillar(&opts, &load).unwrap();
        assert_eq!(&got.to_json(), expect, "pillar of case {}", c.name);
        // The data cache holds the grains (with id) and the pillar.
        let (cg, cp) = cached_data(&cachedir, c.id).expect("data cache written");
        assert_eq!(cp, got);
        assert_eq!(cg.get("id"), Some(&Value::str(c.id)));
        assert_eq!(cg.get("role"), grains.get("role"));
        let dir = cachedir.join("minions").join(c.id);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        assert_eq!(mode(&dir.join("data.p")), 0o600);
    }
    eprintln!(
        "pillar vs salt-call: {} of {} identical",
        cases.len(),
        cases.len()
    );
    assert_eq!(expected[2]["dev_only"], serde_json::json!({"here": true}));
    assert_eq!(expected[3]["db"]["engine"], "mysql");
    assert!(
        expected[1]["_errors"].is_array(),
        "the missing SLS shows in _errors"
    );
    // pillar_override is merged over the compiled pillar.
    let load = m(&[
        ("id", Value::str("m1")),
        ("grains", Value::Map(yaml_map("role: web\nnum: 1\n"))),
        (
            "pillar_override",
            Value::Map(yaml_map("web:\n  port: 8080\nnew: 1\n")),
        ),
    ]);
    let got = handle_pillar(&opts, &load).unwrap();
    assert_eq!(got.traverse("web:port", ":"), Some(&Value::Int(8080)));
    assert_eq!(got.get("new"), Some(&Value::Int(1)));
    // Invalid ids and loads are refused the way Salt refuses them.
    for bad in ["../evil", "a/b", "", "..", "."] {
        let load = m(&[("id", Value::str(bad)), ("grains", Value::map())]);
        assert_eq!(
            handle_pillar(&opts, &load).unwrap(),
            Value::Bool(false),
            "{bad:?}"
        );
    }
    assert!(!t.join("evil").exists() && !cachedir.join("evil").exists());
    assert_eq!(
        handle_pillar(&opts, &m(&[("id", Value::str("m1"))])).unwrap(),
        Value::Bool(false)
    );
    assert!(cached_data(&cachedir, "nosuch").is_none());
    assert!(cached_data(&cachedir, "../m1").is_none());
    let _ = std::fs::remove_dir_all(&t);
}

/// Salt reads Brine's data cache and mine files, and Brine's
/// `_master_opts` answer equals Salt's.
#[test]
fn cache_files_and_master_opts_as_salt() {
    let Some(py) = salt_bin("python") else { return };
    let t = scratch("salt-read");
    let cachedir = t.join("cache");
    let proot = t.join("pillar");
    pillar_tree(&proot);
    std::fs::create_dir_all(t.join("srv/base")).unwrap();
    std::fs::create_dir_all(t.join("srv/dev")).unwrap();
    let conf_text = format!(
        "root_dir: {t}\ncachedir: {c}\npki_dir: {t}/pki\nsock_dir: {t}/sock\nlog_file: {t}/log\n\
         pillar_roots:\n  base:\n    - {p}\n  dev:\n    - {p}-dev\nfile_roots:\n  base:\n    - {t}/srv/base\n  dev:\n    - {t}/srv/dev\n\
         state_top: mytop.sls\nnodegroups:\n  web: 'G@role:web'\njinja_trim_blocks: true\n",
        t = t.display(),
        c = cachedir.display(),
        p = proot.display()
    );
    write(&t.join("master"), &conf_text);
    write(
        &t.join("pillar-dev/top.sls"),
        "dev:\n  '*':\n    - devonly\n",
    );
    write(
        &t.join("pillar-dev/devonly.sls"),
        "dev_only: {{ grains['role'] }}\n",
    );
    let opts = yaml_map(&conf_text);
    // What Salt's master-side compile (salt.pillar.get_pillar with the
    // master's opts, as AESFuncs._pillar calls it) gives, case by case.
    let master_cases = serde_json::json!([
        ["m2", {"role": "db", "num": 2}, null, null, {}],
        ["m2", {"role": "db", "num": 2}, null, "dev", {"db": {"engine": "mysql"}}],
        ["m1", {"role": "web", "num": 1}, "dev", null, {}],
    ]);
    let load = m(&[
        ("id", Value::str("m1")),
        ("grains", Value::Map(yaml_map("role: web\nnum: 1\n"))),
    ]);
    let pillar = handle_pillar(&opts, &load).unwrap();
    let mine = Mine::new(&cachedir);
    let ck = |_: &Value, _: &str| vec!["m1".to_string()];
    let data = yaml_map("test.ping: true\nnetwork.ip_addrs: ['10.0.0.1']\n");
    let put = m(&[("id", Value::str("m1")), ("data", Value::Map(data.clone()))]);
    assert_eq!(
        mine.handle("_mine", &put, &ck).unwrap().unwrap(),
        Value::Bool(true)
    );
    let script = r#"
import json, sys
import salt.config, salt.payload, salt.master, salt.fileserver
opts = salt.config.master_config(sys.argv[1])
cache = opts["cachedir"] + "/minions/m1/"
data = salt.payload.load(open(cache + "data.p", "rb"))
mine = salt.payload.load(open(cache + "mine.p", "rb"))
class Stub: pass
stub = Stub()
stub.opts = opts
fs = salt.fileserver.Fileserver(opts)
stub._file_envs = fs.file_envs
mo = salt.master.AESFuncs._master_opts(stub, {})
mo_env = salt.master.AESFuncs._master_opts(stub, {"env_only": True})
import salt.pillar
compiled = []
for mid, grains, saltenv, pillarenv, override in json.loads(sys.argv[2]):
    grains["id"] = mid
    p = salt.pillar.get_pillar(opts, grains, mid, saltenv, pillar_override=override, pillarenv=pillarenv)
    compiled.append(p.compile_pillar())
print(json.dumps({"data": data, "mine": mine, "master_opts": mo, "env_only": mo_env, "compiled": compiled}))
"#;
    let out = Command::new(&py)
        .arg("-c")
        .arg(script)
        .arg(t.join("master"))
        .arg(master_cases.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["data"]["pillar"], pillar.to_json());
    assert_eq!(v["data"]["grains"]["id"], "m1");
    for (case, expect) in master_cases
        .as_array()
        .unwrap()
        .iter()
        .zip(v["compiled"].as_array().unwrap())
    {
        let load = m(&[
            ("id", Value::from_json(&case[0])),
            ("grains", Value::from_json(&case[1])),
            ("saltenv", Value::from_json(&case[2])),
            ("pillarenv", Value::from_json(&case[3])),
            ("pillar_override", Value::from_json(&case[4])),
        ]);
        let got = handle_pillar(&opts, &load).unwrap();
        assert_eq!(&got.to_json(), expect, "master-side pillar for {case}");
    }
    assert_eq!(v["mine"], Value::Map(data).to_json());
    let ours = master_opts_reply(&opts, &Map::default()).to_json();
    assert_eq!(ours, v["master_opts"]);
    let ours = master_opts_reply(&opts, &m(&[("env_only", Value::Bool(true))])).to_json();
    assert_eq!(ours, v["env_only"]);
    let _ = std::fs::remove_dir_all(&t);
}

#[test]
fn mine_put_get_delete_flush() {
    let t = scratch("mine");
    let mine = Mine::new(&t);
    let all = ["m1", "m2", "m3"];
    let ck = |tgt: &Value, tgt_type: &str| -> Vec<String> {
        let tgt = tgt.as_str().unwrap_or("");
        match tgt_type {
            "glob" => all
                .iter()
                .filter(|m| fnmatch(m, tgt))
                .map(|s| s.to_string())
                .collect(),
            "list" => tgt
                .split(',')
                .filter(|m| all.contains(m))
                .map(str::to_string)
                .collect(),
            other => panic!("unexpected tgt_type {other}"),
        }
    };
    let call = |cmd: &str, load: Map| mine.handle(cmd, &load, &ck).unwrap().unwrap();
    let id = |s: &str| ("id", Value::str(s));
    for (i, mn) in all.iter().enumerate() {
        let data = yaml_map(&format!("ip: 10.0.0.{i}\nos: linux\n"));
        assert_eq!(
            call("_mine", m(&[id(mn), ("data", Value::Map(data))])),
            Value::Bool(true)
        );
    }
    // Updates merge unless `clear`.
    call(
        "_mine",
        m(&[id("m3"), ("data", Value::Map(yaml_map("extra: 1")))]),
    );
    let get = |req: &str, tgt: &str, fun: Value, tt: Option<&str>| {
        let mut l = m(&[id(req), ("tgt", Value::str(tgt)), ("fun", fun)]);
        if let Some(tt) = tt {
            l.insert(Value::str("tgt_type"), Value::str(tt));
        }
        call("_mine_get", l)
    };
    let ips = get("m1", "*", Value::str("ip"), None);
    assert_eq!(
        ips,
        Value::Map(yaml_map("m1: 10.0.0.0\nm2: 10.0.0.1\nm3: 10.0.0.2\n"))
    );
    assert_eq!(
        get("m1", "m1,m3", Value::str("extra"), Some("list")),
        Value::Map(yaml_map("m3: 1"))
    );
    // Several functions: a dict per function.
    let two = get("m1", "m[12]", Value::str("ip,os"), None);
    assert_eq!(
        two,
        Value::Map(yaml_map(
            "ip: {m1: 10.0.0.0, m2: 10.0.0.1}\nos: {m1: linux, m2: linux}\n"
        ))
    );
    let listed = get("m1", "m2", Value::List(vec![Value::str("os")]), None);
    assert_eq!(listed, Value::Map(yaml_map("os: {m2: linux}")));
    call(
        "_mine",
        m(&[
            id("m3"),
            ("data", Value::Map(yaml_map("only: 1"))),
            ("clear", Value::Bool(true)),
        ]),
    );
    assert_eq!(get("m1", "m3", Value::str("ip"), None), Value::map());
    assert_eq!(
        get("m1", "m3", Value::str("only"), None),
        Value::Map(yaml_map("m3: 1"))
    );
    // Minion-side ACL: m2's secret is for m3 only.
    let acl = yaml_map("secret:\n  __saltmine_acl__: 1\n  __data__: s3cr3t\n  allow_tgt: m3\n  allow_tgt_type: glob\n");
    call("_mine", m(&[id("m2"), ("data", Value::Map(acl))]));
    assert_eq!(get("m1", "*", Value::str("secret"), None), Value::map());
    assert_eq!(
        get("m3", "*", Value::str("secret"), None),
        Value::Map(yaml_map("m2: s3cr3t"))
    );
    // The master's mine_get ACL.
    let guarded = Mine::new(&t).with_acl(Some(Value::Map(yaml_map("'m1': ['o.*']"))));
    let l = m(&[
        id("m1"),
        ("tgt", Value::str("*")),
        ("fun", Value::str("ip,os")),
    ]);
    let r = guarded.handle("_mine_get", &l, &ck).unwrap().unwrap();
    assert_eq!(r, Value::Map(yaml_map("os: {m1: linux, m2: linux}")));
    let l = m(&[
        id("m2"),
        ("tgt", Value::str("*")),
        ("fun", Value::str("os")),
    ]);
    assert_eq!(
        guarded.handle("_mine_get", &l, &ck).unwrap().unwrap(),
        Value::map()
    );
    // Delete one function, then flush.
    assert_eq!(
        call("_mine_delete", m(&[id("m1"), ("fun", Value::str("ip"))])),
        Value::Bool(true)
    );
    assert_eq!(get("m2", "m1", Value::str("ip"), None), Value::map());
    assert_eq!(
        get("m2", "m1", Value::str("os"), None),
        Value::Map(yaml_map("m1: linux"))
    );
    assert_eq!(call("_mine_flush", m(&[id("m1")])), Value::Bool(true));
    assert_eq!(call("_mine_flush", m(&[id("m1")])), Value::Bool(false));
    assert_eq!(get("m2", "m1", Value::str("os"), None), Value::map());
    // Malformed loads: Salt's answers, no panic, no path escape.
    assert_eq!(call("_mine", m(&[id("m1")])), Value::map());
    assert_eq!(
        call("_mine_get", m(&[id("m1"), ("tgt", Value::str("*"))])),
        Value::map()
    );
    assert_eq!(
        call("_mine", m(&[id("../x"), ("data", Value::map())])),
        Value::Bool(false)
    );
    assert!(mine
        .handle("_mine", &m(&[id("m1"), ("data", Value::str("x"))]), &ck)
        .unwrap()
        .is_err());
    assert!(mine.handle("_pillar", &Map::default(), &ck).is_none());
    let mode = std::fs::metadata(t.join("minions/m2/mine.p"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let _ = std::fs::remove_dir_all(&t);
}

const REACTOR_SLS: &str = r#"{% set who = data['id'] %}
{% if data.get('fun') == 'state.apply' %}
never:
  local.test.ping:
    - tgt: nobody
{% endif %}
highstate_{{ who }}:
  local.state.apply:
    - tgt: {{ who }}
    - tgt_type: list
    - args:
      - mods: web
      - pillar:
          num: {{ data['num'] }}
          tag: {{ tag }}
old_style:
  cmd.test.echo:
    - tgt: 'G@role:web'
    - expr_form: compound
    - arg:
      - {{ tag }}
    - kwarg:
        a: {{ data['num'] * 2 }}
"#;

const RUNNER_SLS: &str =
    "run_it:\n  runner.jobs.list_jobs: []\nwheel_it:\n  wheel.key.accept:\n    - match: m1\n";

fn reactor_opts(t: &Path) -> Map {
    write(&t.join("reactor/start.sls"), REACTOR_SLS);
    write(&t.join("reactor/runner.sls"), RUNNER_SLS);
    write(
        &t.join("reactor/broken.sls"),
        "ok:\n  local.test.ping:\n    - tgt: {{ data['id'] }\n",
    );
    write(
        &t.join("srv/reactor/auth.sls"),
        "accept:\n  local.test.ping:\n    - tgt: {{ data['id'] }}\n",
    );
    yaml_map(&format!(
        "file_roots:\n  base:\n    - {t}/srv\nreactor:\n  - 'salt/minion/*/start':\n    - {t}/reactor/start.sls\n  - 'salt/auth':\n    - salt://reactor/auth.sls\n  - 'custom/run':\n    - {t}/reactor/runner.sls\n  - 'custom/broken':\n    - {t}/reactor/broken.sls\n    - {t}/reactor/missing.sls\n",
        t = t.display()
    ))
}

#[test]
fn reactor_renders_local_calls() {
    let t = scratch("reactor");
    let opts = reactor_opts(&t);
    let data = Value::Map(yaml_map(
        "id: m1\nnum: 21\n_stamp: '2026-11-29T04:30:00.000000'\n",
    ));
    let calls = react(&opts, "salt/minion/m1/start", &data);
    let calls: Vec<LocalCall> = calls.into_iter().map(|c| c.unwrap()).collect();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        calls[0],
        LocalCall {
            tgt: Value::str("m1"),
            tgt_type: "list".into(),
            fun: "state.apply".into(),
            arg: vec![],
            kwarg: yaml_map("mods: web\npillar: {num: 21, tag: salt/minion/m1/start}\n"),
        }
    );
    assert_eq!(
        calls[1],
        LocalCall {
            tgt: Value::str("G@role:web"),
            tgt_type: "compound".into(),
            fun: "test.echo".into(),
            arg: vec![Value::str("salt/minion/m1/start")],
            kwarg: yaml_map("a: 42"),
        }
    );
    // salt:// references resolve through file_roots.
    let calls = react(&opts, "salt/auth", &Value::Map(yaml_map("id: m9")));
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].as_ref().unwrap().tgt, Value::str("m9"));
    // Tags that match nothing react with nothing.
    assert!(react(&opts, "salt/job/123/ret/m1", &data).is_empty());
    // runner/wheel: a clear error per entry.
    let r = react(&opts, "custom/run", &data);
    assert_eq!(r.len(), 2);
    for (res, what) in r.iter().zip(["runner.jobs.list_jobs", "wheel.key.accept"]) {
        let e = res.as_ref().unwrap_err();
        assert!(e.contains("not supported") && e.contains(what), "{e}");
    }
    // Render errors name the file and line; a missing file is named too.
    let r = react(&opts, "custom/broken", &data);
    assert_eq!(r.len(), 2, "{r:?}");
    let e = r[0].as_ref().unwrap_err();
    assert!(e.contains("broken.sls") && e.contains("line 3"), "{e}");
    let e = r[1].as_ref().unwrap_err();
    assert!(e.contains("missing.sls") && e.contains("not found"), "{e}");
    let _ = std::fs::remove_dir_all(&t);
}

/// The calls agree with the low chunks Salt's reactor compiles, read the
/// way `ReactWrap.run` reads them.
#[test]
fn reactor_agrees_with_salt() {
    let Some(py) = salt_bin("python") else { return };
    let t = scratch("reactor-salt");
    let opts = reactor_opts(&t);
    // JSON is YAML: Salt reads the same options Brine got.
    let mut conf = opts.clone();
    for (k, v) in ["root_dir", "cachedir", "pki_dir", "sock_dir", "log_file"]
        .iter()
        .zip(["", "/cache", "/pki", "/sock", "/log"])
    {
        conf.insert(Value::str(*k), Value::str(format!("{}{v}", t.display())));
    }
    let conf = Value::Map(conf).to_json().to_string();
    write(&t.join("master"), &conf);
    let script = r#"
import json, sys
import salt.config, salt.utils.reactor, salt.utils.data
opts = salt.config.master_config(sys.argv[1])
r = salt.utils.reactor.Reactor(opts)
out = {}
for tag, data in json.loads(sys.argv[2]):
    chunks = r.reactions(tag, data, r.list_reactors(tag))
    calls = []
    for low in chunks:
        if low["state"] != "local":
            continue
        if "args" in low:
            arg, kwarg = [], low["args"]
            if not isinstance(kwarg, dict):
                kwarg = salt.utils.data.repack_dictlist(kwarg)
        else:
            arg, kwarg = list(low.get("arg", ())), low.get("kwarg", {})
        calls.append({"tgt": low["tgt"], "tgt_type": low.get("tgt_type", low.get("expr_form", "glob")),
                      "fun": low["fun"], "arg": arg, "kwarg": kwarg})
    out[tag] = calls
print(json.dumps(out))
"#;
    let events = serde_json::json!([
        ["salt/minion/m1/start", {"id": "m1", "num": 21}],
        ["salt/minion/m2/start", {"id": "m2", "num": 5, "fun": "state.apply"}],
        ["salt/auth", {"id": "m9"}],
    ]);
    let out = Command::new(&py)
        .arg("-c")
        .arg(script)
        .arg(t.join("master"))
        .arg(events.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let salt: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut n = 0;
    for ev in events.as_array().unwrap() {
        let tag = ev[0].as_str().unwrap();
        let ours: Vec<serde_json::Value> = react(&opts, tag, &Value::from_json(&ev[1]))
            .into_iter()
            .map(|c| {
                let c = c.unwrap();
                serde_json::json!({"tgt": c.tgt.to_json(), "tgt_type": c.tgt_type, "fun": c.fun,
                    "arg": Value::List(c.arg).to_json(), "kwarg": Value::Map(c.kwarg).to_json()})
            })
            .collect();
        // Salt orders chunks by name within an order; compare as sets.
        let mut a: Vec<String> = ours.iter().map(|v| v.to_string()).collect();
        let mut b: Vec<String> = salt[tag]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "reactions to {tag}");
        n += a.len();
    }
    eprintln!("reactor vs salt: {n} calls identical");
    let _ = std::fs::remove_dir_all(&t);
}
