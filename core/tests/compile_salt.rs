//! Differential tests of the state and pillar compiler against Salt 3007.8:
//! each case writes a small state/pillar tree, runs our compiler and (when
//! `.salt-venv` exists) `salt-call --local --out json` on the same tree,
//! and compares the JSON. Without the venv the cases only check that our
//! compiler does not fail to run.

use brine_core::compile::{compile_pillar, Compiler};
use brine_core::fileclient::LocalFileClient;
use brine_core::functions::NoFunctions;
use brine_core::value::Value;
use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    name: &'static str,
    /// (path under the case dir, contents): `states/...`, `pillar/...`.
    files: &'static [(&'static str, &'static str)],
    /// Extra minion config lines.
    conf: &'static str,
    /// (function, args) to compare.
    calls: &'static [(&'static str, &'static [&'static str])],
}

const LOW: (&str, &[&str]) = ("state.show_lowstate", &[]);
const HIGH: (&str, &[&str]) = ("state.show_highstate", &[]);
const TOP: (&str, &[&str]) = ("state.show_top", &[]);
const PILLAR: (&str, &[&str]) = ("pillar.items", &[]);

fn venv() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .join(".salt-venv/bin/salt-call");
    root.exists().then_some(root)
}

fn roots(opts: &Value, key: &str) -> LocalFileClient {
    let mut m = IndexMap::new();
    if let Some(Value::Map(r)) = opts.get(key) {
        for (env, dirs) in r {
            let dirs = dirs
                .as_list()
                .map(|l| {
                    l.iter()
                        .filter_map(|d| d.as_str().map(PathBuf::from))
                        .collect()
                })
                .unwrap_or_default();
            m.insert(env.as_str().unwrap_or("").to_string(), dirs);
        }
    }
    LocalFileClient::new(m)
}

fn ours(opts: &Value, fun: &str, args: &[&str]) -> serde_json::Value {
    let empty = Value::map();
    let grains = opts.get("grains").unwrap_or(&empty);
    let pfiles = roots(opts, "pillar_roots");
    let pillar = compile_pillar(opts, grains, &NoFunctions, &pfiles);
    let files = roots(opts, "file_roots");
    let c = Compiler {
        opts,
        grains,
        pillar: &pillar,
        functions: &NoFunctions,
        file_client: &files,
    };
    let mods: Vec<String> = args
        .first()
        .map(|a| a.split(',').map(String::from).collect())
        .unwrap_or_default();
    let saltenv = args
        .iter()
        .find_map(|a| a.strip_prefix("saltenv="))
        .unwrap_or("base");
    let res = match fun {
        "state.show_lowstate" => c.lowstate(),
        "state.show_highstate" => c.highstate(),
        "state.show_top" => c.top(),
        "state.show_sls" => c.sls(&mods, saltenv),
        "state.show_low_sls" => c.low_sls(&mods, saltenv),
        "pillar.items" => {
            // Salt's pillar.items recompiles with the startup pillar as
            // `opts['pillar']`.
            let mut opts2 = opts.clone();
            if let Some(m) = opts2.as_map_mut() {
                m.insert(Value::str("pillar"), pillar.clone());
            }
            Ok(compile_pillar(&opts2, grains, &NoFunctions, &pfiles))
        }
        other => panic!("unknown function {other}"),
    };
    let v = match res {
        Ok(v) => v.to_json(),
        Err(e) => serde_json::Value::from(e),
    };
    serde_json::json!({ "local": v })
}

fn salt(salt_call: &Path, conf: &Path, fun: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(salt_call)
        .args(["--local", "-c"])
        .arg(conf)
        .args(["--out", "json", "--log-level", "quiet", fun])
        .args(args)
        .output()
        .expect("run salt-call");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({ "unparsed": text }))
}

fn setup(case: &Case) -> (PathBuf, Value) {
    let dir = std::env::temp_dir().join(format!(
        "brine-compile-{}-{}",
        std::process::id(),
        case.name
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["states", "pillar", "conf", "cache", "root"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
    }
    for (path, text) in case.files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
    }
    let d = dir.display();
    let mut conf = format!(
        "id: web01\nfile_client: local\nroot_dir: {d}/root\ncachedir: {d}/cache\n\
         grains:\n  os: Debian\n  roles: [web, app]\n  ipv4: [10.0.0.5]\n"
    );
    if !case.conf.contains("file_roots") {
        conf.push_str(&format!("file_roots:\n  base:\n    - {d}/states\n"));
    }
    if !case.conf.contains("pillar_roots") {
        conf.push_str(&format!("pillar_roots:\n  base:\n    - {d}/pillar\n"));
    }
    conf.push_str(&case.conf.replace("DIR", &d.to_string()));
    std::fs::write(dir.join("conf/minion"), &conf).expect("write conf");
    let opts = brine_core::yaml::load(&conf).expect("conf yaml");
    (dir, opts)
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "formula",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - common\n  'G@roles:web':\n    - web\n  'db*':\n    - db\n"),
                ("states/common/init.sls", "include:\n  - .users\nvim:\n  pkg.installed: []\n/etc/motd:\n  file.managed:\n    - contents: hello\n    - require:\n      - pkg: vim\n"),
                ("states/common/users.sls", "alice:\n  user.present:\n    - shell: /bin/bash\n    - require_in:\n      - file: /etc/motd\n    - order: 5\n"),
                ("states/web/init.sls", "include:\n  - common\n  - web.nginx\nextend:\n  /etc/motd:\n    file:\n      - mode: '0644'\n      - require:\n        - user: alice\npkgs:\n  pkg.installed:\n    - names:\n      - curl\n      - git:\n        - version: 1.2\n    - watch_in:\n      - service: nginx\n"),
                ("states/web/nginx.sls", "nginx:\n  pkg:\n    - installed\n  service.running:\n    - enable: True\n    - watch:\n      - pkg: nginx\n    - order: last\n"),
            ],
            conf: "",
            calls: &[LOW, HIGH, TOP, ("state.show_sls", &["web"]), ("state.show_low_sls", &["web,common"])],
        },
        Case {
            name: "requisite_in",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - req\n"),
                ("states/req.sls", "a:\n  cmd.run:\n    - name: echo a\n    - require_in:\n      - cmd: b\n      - cmd: c\n    - watch_in:\n      - sls: other\n    - onchanges_in:\n      - cmd: echo c\nb:\n  cmd.run:\n    - cwd: /tmp\n    - prereq_in:\n      - cmd: c\n    - use:\n      - cmd: c\nc:\n  cmd.run:\n    - name: echo c\n    - runas: root\n    - env: {A: 1}\n    - use_in:\n      - cmd: d\n    - listen_in:\n      - cmd: d\n    - onfail_in:\n      - cmd: d\nd:\n  cmd.run:\n    - prereq:\n      - cmd: a\n    - require_any:\n      - cmd: a\ninclude:\n  - other\n"),
                ("states/other.sls", "o1:\n  cmd.run: []\no2:\n  cmd.wait:\n    - order: first\n"),
            ],
            conf: "",
            calls: &[LOW],
        },
        Case {
            name: "errors",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - bad\n    - missing\n"),
                ("states/bad.sls", "x: notadict\ny:\n  pkg: installed\nw:\n  pkg:\n    - installed\n    - latest\nv:\n  pkg:\n    - names: foo\n    - require: foo\nu:\n  file.managed\ninclude:\n  - nothere\n  - ..toofar\n"),
            ],
            conf: "",
            calls: &[LOW, HIGH, ("state.show_sls", &["bad"])],
        },
        Case {
            name: "errors_short_decl",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - bad\n"),
                ("states/bad.sls", "z:\n  pkg.installed:\nq:\n  pkg.installed: []\n  file.managed:\n    - require:\n      - pkg.installed: q\n    - watch: [{file: q}]\n"),
            ],
            conf: "",
            calls: &[HIGH, ("state.show_sls", &["bad"])],
        },
        Case {
            name: "conflict_exclude",
            files: &[
                ("states/top.sls", "base:\n  'web*':\n    - a\n    - b\n"),
                ("states/a.sls", "same:\n  pkg.installed: []\nonly_a:\n  pkg.removed: []\nexclude:\n  - id: only_b\n  - sls: c\ninclude:\n  - c\n"),
                ("states/b.sls", "same:\n  pkg.latest: []\nonly_b:\n  pkg.removed: []\n"),
                ("states/c.sls", "in_c:\n  test.nop: []\n"),
            ],
            conf: "",
            calls: &[LOW, HIGH],
        },
        Case {
            name: "top_matching",
            files: &[
                ("states/top.sls", "base:\n  'os:Debian':\n    - match: grain\n    - g\n  'web01,db01':\n    - match: list\n    - l\n  'web0[0-9]':\n    - match: pcre\n    - p\n  '10.0.0.0/24':\n    - match: ipcidr\n    - i\n  'G@os:Debian and not L@x':\n    - c\n  'grp':\n    - match: nodegroup\n    - n\n  'nomatch*':\n    - z\n  'web*':\n    - 'sub.*'\n    - dev: devsls\n    - nope: x\ndev:\n  '*':\n    - devonly\n"),
                ("states/g.sls", "g: {test.nop: []}\n"),
                ("states/l.sls", "l: {test.nop: []}\n"),
                ("states/p.sls", "p: {test.nop: []}\n"),
                ("states/i.sls", "i: {test.nop: []}\n"),
                ("states/c.sls", "c: {test.nop: []}\n"),
                ("states/n.sls", "n: {test.nop: []}\n"),
                ("states/sub/one.sls", "one: {test.nop: []}\n"),
                ("states/sub/two.sls", "two: {test.nop: []}\n"),
                ("dev/devsls.sls", "devsls: {test.nop: []}\n"),
                ("dev/devonly.sls", "devonly: {test.nop: []}\n"),
                ("dev/top.sls", "dev:\n  'web*':\n    - devonly\n"),
            ],
            conf: "nodegroups:\n  grp: 'L@web01,x'\nfile_roots:\n  base:\n    - DIR/states\n  dev:\n    - DIR/dev\n",
            calls: &[TOP, LOW],
        },
        Case {
            name: "pillar",
            files: &[
                ("states/top.sls", "base:\n  'I@role:web':\n    - p\n"),
                ("states/p.sls", "p: {test.nop: []}\n"),
                ("pillar/top.sls", "base:\n  '*':\n    - common\n  'G@os:Debian':\n    - deb\n    - nested.*\n"),
                ("pillar/common.sls", "role: web\nlist: [1, 2]\ndeep: {a: 1, b: {c: 2}}\n"),
                ("pillar/deb.sls", "include:\n  - inc\n  - sub:\n      key: under:here\n      defaults: {x: 1}\nlist: [3]\ndeep: {b: {d: 4}}\n"),
                ("pillar/inc.sls", "deep: {a: 0, z: 9}\nincluded: true\n"),
                ("pillar/sub.sls", "s: 1\n"),
                ("pillar/nested/one.sls", "n1: 1\n"),
            ],
            conf: "",
            calls: &[PILLAR, TOP],
        },
        Case {
            name: "pillar_errors",
            files: &[
                ("pillar/top.sls", "base:\n  '*':\n    - ok\n    - missing\n    - bad\n    - notdict\n    - badinc\n  'x*':\n    - nope\n"),
                ("pillar/ok.sls", "a: 1\n"),
                ("pillar/bad.sls", "a: [1\n"),
                ("pillar/notdict.sls", "- 1\n- 2\n"),
                ("pillar/badinc.sls", "include: notalist\nb: 2\n"),
            ],
            conf: "",
            calls: &[PILLAR],
        },
        Case {
            name: "pillar_merge_lists",
            files: &[
                ("pillar/top.sls", "base:\n  '*':\n    - a\n    - b\n"),
                ("pillar/a.sls", "l: [1, 2]\nd: {x: [1]}\n"),
                ("pillar/b.sls", "l: [2, 3]\nd: {x: [4]}\n"),
            ],
            conf: "pillar_merge_lists: true\n",
            calls: &[PILLAR],
        },
        Case {
            name: "names_order",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - n\n"),
                ("states/n.sls", "pk:\n  pkg.installed:\n    - names:\n      - b\n      - a\n    - order: 3\nlast1:\n  cmd.run:\n    - order: last\nfirst1:\n  cmd.run:\n    - order: first\nneg:\n  cmd.run:\n    - order: -1\nplain:\n  cmd.run: []\nmulti:\n  file.directory:\n    - name: /tmp/x\n  service.running:\n    - name: svc\n"),
            ],
            conf: "",
            calls: &[LOW],
        },
        Case {
            name: "no_auto_order",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - n\n"),
                ("states/n.sls", "b:\n  cmd.run: []\na:\n  cmd.run: []\nc:\n  cmd.run:\n    - order: 2\n"),
            ],
            conf: "state_auto_order: false\n",
            calls: &[LOW],
        },
        Case {
            name: "includes",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - a.b\n"),
                ("states/a/b.sls", "include:\n  - .c\n  - ..top2\n  - base: d\n  - dev: devs\n  - 'g.*'\n  - .c\nb1:\n  test.nop: []\n"),
                ("states/a/c.sls", "include:\n  - a.b\nc1:\n  test.nop: []\n"),
                ("states/top2.sls", "t2:\n  test.nop: []\n"),
                ("states/d.sls", "d1:\n  test.nop: []\n"),
                ("states/g/x.sls", "gx:\n  test.nop: []\n"),
                ("states/g/y.sls", "gy:\n  test.nop: []\n"),
                ("dev/devs.sls", "dv:\n  test.nop: []\n"),
            ],
            conf: "file_roots:\n  base:\n    - DIR/states\n  dev:\n    - DIR/dev\n",
            calls: &[LOW, HIGH, ("state.show_sls", &["a.b"])],
        },
        Case {
            name: "include_errors",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - a\n"),
                ("states/a.sls", "include:\n  - sls: x\n  - nope: y\n  - missing.one\nextend:\n  ghost:\n    file:\n      - mode: 600\na1:\n  test.nop: []\n"),
                ("states/x.sls", "x1:\n  test.nop: []\n"),
            ],
            conf: "",
            calls: &[LOW, HIGH],
        },
        Case {
            name: "extend_names",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - e\n"),
                ("states/e.sls", "include:\n  - base_e\nextend:\n  pk:\n    pkg:\n      - name: single\n  svc:\n    service.running:\n      - watch:\n        - file: conf\n      - enable: false\n  byname:\n    file:\n      - mode: 644\nconf:\n  file.managed:\n    - name: /etc/conf\n"),
                ("states/base_e.sls", "pk:\n  pkg.installed:\n    - names: [a, b]\nsvc:\n  service.running:\n    - enable: true\n    - watch:\n      - pkg: pk\nother:\n  file.managed:\n    - name: byname\n"),
            ],
            conf: "",
            calls: &[LOW, HIGH],
        },
        Case {
            name: "top_same",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - b1\ndev:\n  '*':\n    - fromb\n"),
                ("states/b1.sls", "b1: {test.nop: []}\n"),
                ("dev/top.sls", "dev:\n  '*':\n    - d1\nbase:\n  '*':\n    - fromdev\n"),
                ("dev/d1.sls", "d1: {test.nop: []}\n"),
                ("prod/p1.sls", "p1: {test.nop: []}\n"),
            ],
            conf: "top_file_merging_strategy: same\nfile_roots:\n  base:\n    - DIR/states\n  dev:\n    - DIR/dev\n  prod:\n    - DIR/prod\n",
            calls: &[TOP],
        },
        Case {
            name: "top_merge_all",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - b1\ndev:\n  '*':\n    - fromb\n"),
                ("states/b1.sls", "b1: {test.nop: []}\n"),
                ("dev/top.sls", "dev:\n  '*':\n    - d1\n  'web*':\n    - d2\nbase:\n  '*':\n    - b1\n    - fromdev\n"),
            ],
            conf: "top_file_merging_strategy: merge_all\nfile_roots:\n  base:\n    - DIR/states\n  dev:\n    - DIR/dev\n",
            calls: &[TOP],
        },
        Case {
            name: "top_merge_env_order",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - b1\n"),
                ("dev/top.sls", "dev:\n  '*':\n    - d1\nbase:\n  '*':\n    - ignored\n"),
                ("prod/top.sls", "prod:\n  '*':\n    - p1\ndev:\n  '*':\n    - ignored\ninclude:\n  - extra\n"),
                ("prod/extra.sls", "prod:\n  'web*':\n    - p2\n"),
            ],
            conf: "env_order: [prod, dev, base]\nfile_roots:\n  base:\n    - DIR/states\n  dev:\n    - DIR/dev\n  prod:\n    - DIR/prod\n",
            calls: &[TOP],
        },
        Case {
            name: "top_state_top_saltenv",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - b1\n"),
                ("dev/top.sls", "dev:\n  '*':\n    - d1\nbase:\n  '*':\n    - fromdev\n"),
            ],
            conf: "state_top_saltenv: dev\nfile_roots:\n  base:\n    - DIR/states\n  dev:\n    - DIR/dev\n",
            calls: &[TOP],
        },
        Case {
            name: "top_saltenv_opt",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - b1\ndev:\n  '*':\n    - fromb\n"),
                ("dev/top.sls", "dev:\n  '*':\n    - d1\n"),
            ],
            conf: "saltenv: dev\nfile_roots:\n  base:\n    - DIR/states\n  dev:\n    - DIR/dev\n",
            calls: &[TOP],
        },
        Case {
            name: "top_errors",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - ''\n    - match: \n  'x':\n    - y\n'':\n  '*': [a]\n"),
            ],
            conf: "",
            calls: &[TOP],
        },
        Case {
            name: "pillar_strategies",
            files: &[
                ("pillar/top.sls", "base:\n  '*':\n    - a\n    - b\n  'web*':\n    - order: 1\n    - first\n"),
                ("pillar/first.sls", "d: {first: 1}\n"),
                ("pillar/a.sls", "d: {x: 1, y: {z: 1}}\nl: [1]\n"),
                ("pillar/b.sls", "d: {y: {w: 2}}\nl: [2]\n"),
            ],
            conf: "pillar_source_merging_strategy: overwrite\n",
            calls: &[PILLAR],
        },
        Case {
            name: "pillar_include_rel",
            files: &[
                ("pillar/top.sls", "base:\n  '*':\n    - app\n    - missing_ok\n    - ignore_missing: True\n"),
                ("pillar/app/init.sls", "include:\n  - .sub\n  - app.other:\n      defaults:\n        v: 5\napp: {main: 1}\n"),
                ("pillar/app/sub.sls", "app: {sub: 1, main: 0}\n"),
                ("pillar/app/other.sls", "other: {{ v }}\n"),
            ],
            conf: "",
            calls: &[PILLAR],
        },
        Case {
            name: "render_errors",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - yamlbad\n    - listy\n    - empty\n"),
                ("states/yamlbad.sls", "a:\n  b: [1\n"),
                ("states/listy.sls", "- a\n- b\n"),
                ("states/empty.sls", "   \n"),
            ],
            conf: "",
            calls: &[LOW],
        },
        Case {
            name: "jinja_context",
            files: &[
                ("states/top.sls", "base:\n  '{{ grains.id if grains.id is defined else \"*\" }}':\n    - j\n"),
                ("states/j.sls", "{% for r in grains['roles'] %}\nrole_{{ r }}:\n  test.nop:\n    - p: {{ pillar.get('val', 'none') }}\n    - sls: {{ sls }}\n    - env: {{ saltenv }}\n{% endfor %}\n'1234':\n  test.nop: []\nfloaty:\n  test.nop:\n    - order: 1.5\n"),
                ("pillar/top.sls", "base:\n  '*':\n    - p\n"),
                ("pillar/p.sls", "val: {{ grains['os'] }}\n"),
            ],
            conf: "",
            calls: &[LOW, PILLAR],
        },
        Case {
            name: "int_id",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - j\n"),
                ("states/j.sls", "1234:\n  test.nop: []\n"),
            ],
            conf: "",
            calls: &[LOW, HIGH],
        },
        Case {
            name: "saltenv_sls",
            files: &[
                ("dev/x.sls", "include:\n  - y\n  - base: b\nx1:\n  test.nop: []\n"),
                ("dev/y.sls", "y1:\n  test.nop: []\n"),
                ("states/b.sls", "b1:\n  test.nop: []\nexclude:\n  - y\n"),
                ("states/top.sls", "base:\n  '*':\n    - b\nprod:\n  '*':\n    - p\n"),
            ],
            conf: "file_roots:\n  base:\n    - DIR/states\n  dev:\n    - DIR/dev\n",
            calls: &[("state.show_sls", &["x", "saltenv=dev"]), ("state.show_low_sls", &["x", "saltenv=dev"]), LOW, ("state.show_sls", &["nope"]), ("state.show_low_sls", &["x,b", "saltenv=dev"])],
        },
        Case {
            name: "nodegroups_top",
            files: &[
                ("states/top.sls", "base:\n  'N@both':\n    - a\n  'listgrp':\n    - match: nodegroup\n    - b\n  'nested':\n    - match: nodegroup\n    - c\n  'G@roles:app and ( L@x or E@web.* )':\n    - d\n  'roles:w*':\n    - match: grain\n    - e\n  'roles:db':\n    - match: grain\n    - f\n"),
                ("states/a.sls", "a: {test.nop: []}\n"),
            ],
            conf: "nodegroups:\n  web: 'web*'\n  deb: 'G@os:Debian'\n  both: 'N@web and N@deb'\n  listgrp: [web01, web02]\n  nested: 'N@listgrp or x'\n",
            calls: &[TOP],
        },
        Case {
            name: "exclude_forms",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - m\n"),
                ("states/m.sls", "include:\n  - sub.a\n  - sub.b\n  - keep\nexclude:\n  - sls: 'sub.*'\n  - id: k2\n  - keep_not_sls\nm1:\n  test.nop: []\n"),
                ("states/sub/a.sls", "sa: {test.nop: []}\n"),
                ("states/sub/b.sls", "sb: {test.nop: []}\n"),
                ("states/keep.sls", "k1: {test.nop: []}\nk2: {test.nop: []}\n"),
            ],
            conf: "",
            calls: &[LOW, HIGH],
        },
        Case {
            name: "pillar_envs",
            files: &[
                ("pillar/top.sls", "base:\n  '*':\n    - a\ndev:\n  '*':\n    - d\n"),
                ("pillar/a.sls", "a: base\nshared: {x: 1}\n"),
                ("pdev/d.sls", "d: dev\nshared: {y: 2}\n"),
                ("pdev/top.sls", "dev:\n  'web*':\n    - d2\n"),
                ("pdev/d2.sls", "d2: 1\n"),
            ],
            conf: "pillar_roots:\n  base:\n    - DIR/pillar\n  dev:\n    - DIR/pdev\n",
            calls: &[PILLAR],
        },
        Case {
            name: "pillarenv",
            files: &[
                ("pillar/top.sls", "base:\n  '*':\n    - a\ndev:\n  '*':\n    - d\n"),
                ("pillar/a.sls", "a: base\n"),
                ("pdev/d.sls", "d: dev\n"),
                ("pdev/top.sls", "dev:\n  '*':\n    - d\n"),
            ],
            conf: "pillarenv: dev\npillar_roots:\n  base:\n    - DIR/pillar\n  dev:\n    - DIR/pdev\n",
            calls: &[PILLAR],
        },
        Case {
            name: "top_broken",
            files: &[("states/top.sls", "base:\n  '*': [a\n"), ("states/a.sls", "a: {test.nop: []}\n")],
            conf: "",
            calls: &[TOP, LOW, HIGH],
        },
        Case {
            name: "top_no_targets",
            files: &[("states/top.sls", "base:\n"), ("states/a.sls", "a: {test.nop: []}\n")],
            conf: "",
            calls: &[TOP, LOW],
        },
        Case {
            name: "top_dupes_unknown_env",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - a\n    - a\n  'web*':\n    - a\n    - 'nomatch.*'\nprod:\n  '*':\n    - p\n"),
                ("states/a.sls", "a: {test.nop: []}\n"),
            ],
            conf: "",
            calls: &[TOP, LOW],
        },
        Case {
            name: "req_in_forms",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - r\n"),
                ("states/r.sls", "t:\n  file.managed:\n    - name: /tmp/t\n    - require_in: {cmd: c}\n    - watch_in:\n      - cmd: c\n    - prereq_in:\n      - sls: r2\nc:\n  cmd.run:\n    - require:\n      - file: /tmp/t\n    - onchanges_in:\n      - c2\n    - onfail_in:\n      - /tmp/t\n    - require_in:\n      - file.managed: t\n      - nothing: here\ninclude:\n  - r2\n"),
                ("states/r2.sls", "c2:\n  cmd.run:\n    - name: echo 2\n    - use:\n      - file: t\n"),
            ],
            conf: "",
            calls: &[LOW],
        },
        Case {
            name: "pillar_context",
            files: &[
                ("pillar/top.sls", "base:\n  '*':\n    - a\n    - b\n  '{{ grains.os }}':\n    - match: grain_pcre\n    - c\n  'os:Deb*':\n    - match: grain\n    - d\n"),
                ("pillar/a.sls", "foo: 1\n"),
                ("pillar/b.sls", "seen: {{ pillar.get('foo', 'none') }}\nsls: {{ sls }}\nenv: {{ saltenv }}\n"),
                ("pillar/d.sls", "d: true\n"),
            ],
            conf: "",
            calls: &[PILLAR],
        },
        Case {
            name: "verify_errors",
            files: &[
                ("states/top.sls", "base:\n  '*':\n    - v\n"),
                ("states/v.sls", "a:\n  pkg.installed:\n    - require:\n      - pkg: b\nb:\n  pkg.installed:\n    - require:\n      - pkg: a\nc:\n  file.managed: []\n  file.absent: []\nd:\n  cmd:\n    - run now\ne:\n  cmd.run:\n    - require:\n      - 5\n      - {cmd: [x]}\n    - {onlyif: x, unless: y}\n    - watch:\n      - {cmd: a, file: b}\n"),
            ],
            conf: "",
            calls: &[LOW, ("state.show_sls", &["v"])],
        },
    ]
}

#[test]
fn compiler_matches_salt() {
    let salt_call = venv();
    let only = std::env::var("BRINE_CASE").ok();
    // (case name, fun, args, dir, ours)
    let mut jobs = Vec::new();
    let mut dirs = Vec::new();
    for case in cases() {
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        let (dir, opts) = setup(&case);
        for (fun, args) in case.calls {
            let got = ours(&opts, fun, args);
            jobs.push((case.name, *fun, *args, dir.clone(), got));
        }
        dirs.push(dir);
    }
    let Some(sc) = salt_call else {
        eprintln!(
            "no .salt-venv: ran {} compiler calls without comparing",
            jobs.len()
        );
        return;
    };
    // Two salt-call processes at a time (the machine has few cores).
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(vec![serde_json::Value::Null; jobs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((_, fun, args, dir, _)) = jobs.get(i) else {
                    break;
                };
                // A private cachedir per call: Salt refuses to run two
                // state functions at once with the same one.
                let conf = dir.join(format!("conf{i}"));
                let text = std::fs::read_to_string(dir.join("conf/minion")).unwrap_or_default();
                let cache = dir.join("cache");
                let text = text.replace(
                    &format!("cachedir: {}", cache.display()),
                    &format!("cachedir: {}{i}", cache.display()),
                );
                let _ = std::fs::create_dir_all(&conf);
                let _ = std::fs::write(conf.join("minion"), text);
                let want = salt(&sc, &conf, fun, args);
                if let Ok(mut r) = results.lock() {
                    r[i] = want;
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    let mut failures = Vec::new();
    for ((name, fun, args, _, got), want) in jobs.iter().zip(results) {
        if std::env::var("BRINE_SHOW").is_ok() {
            eprintln!(
                "== {name} {fun} {args:?}\n{}",
                serde_json::to_string(&want).unwrap_or_default()
            );
        }
        // Salt crashed (traceback, no JSON): we must fail too, with errors.
        let both_fail = want.get("unparsed").is_some()
            && got["local"]
                .as_array()
                .is_some_and(|a| a.iter().all(|e| e.is_string()));
        if *got != want && !both_fail {
            failures.push(format!(
                "== {name} {fun} {args:?}\n-- ours:\n{}\n-- salt:\n{}",
                serde_json::to_string_pretty(got).unwrap_or_default(),
                serde_json::to_string_pretty(&want).unwrap_or_default()
            ));
        }
    }
    for dir in dirs {
        let _ = std::fs::remove_dir_all(&dir);
    }
    eprintln!(
        "compared {} calls with Salt, {} differ",
        jobs.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
