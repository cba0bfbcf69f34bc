//! Differential tests of the fast scanner against libyaml: for every input
//! of a large corpus (the repository's SLS/YAML files, a rendered bench
//! tree, generated and mutated documents), `fast::scan` must either give up
//! or produce exactly libyaml's events (kinds, values, styles, marks).

use super::scan;
use crate::fileclient::LocalFileClient;
use crate::functions::Functions;
use crate::render::RenderContext;
use crate::value::{Map, Value};
use crate::yaml::events::{Event, EventKind, Parser};
use std::path::{Path, PathBuf};

/// libyaml's events up to STREAM-END, or `None` on an error.
fn libyaml(src: &str) -> Option<Vec<Event>> {
    let mut p = Parser::new(src);
    let mut out = Vec::new();
    loop {
        let ev = p.next_event().ok()?;
        let end = matches!(ev.kind, EventKind::StreamEnd);
        out.push(ev);
        if end {
            return Some(out);
        }
    }
}

/// Assert that the fast scanner agrees with libyaml on `src`; true when it
/// did not give up.
fn check(src: &str, what: &str) -> bool {
    let Some(fast) = scan(src) else {
        return false;
    };
    let Some(slow) = libyaml(src) else {
        panic!("{what}: fast scan accepted a document libyaml rejects:\n{src:?}\nfast: {fast:#?}");
    };
    if fast != slow {
        let i = fast
            .iter()
            .zip(&slow)
            .position(|(a, b)| a != b)
            .unwrap_or(fast.len().min(slow.len()));
        panic!(
            "{what}: event {i} differs for\n{src:?}\nfast:    {:?}\nlibyaml: {:?}\n({} vs {} events)",
            fast.get(i),
            slow.get(i),
            fast.len(),
            slow.len()
        );
    }
    true
}

fn must_take_fast_path(src: &str, what: &str) {
    assert!(
        check(src, what),
        "{what}: fast scan gave up on a common shape:\n{src}"
    );
}

// --- hand-written cases ---------------------------------------------------

/// Typical SLS shapes: the fast path must handle every one of them.
const TYPICAL: &[&str] = &[
    "",
    "\n\n",
    "# only a comment\n",
    "a: 1\n",
    "a: 1",
    "a:\n",
    "a:",
    "nginx:\n  pkg.installed: []\n  service.running:\n    - enable: True\n    - watch:\n      - pkg: nginx\n",
    "/etc/motd:\n  file.managed:\n    - source: salt://motd/files/motd\n    - mode: '0644'\n    - user: root\n",
    "web:\n  file.managed:\n    - name: /etc/a b\n    - contents: |\n        line one\n        listen 0.0.0.0:8000\n\n        # not a comment\n    - require:\n      - file: other\n",
    "k:\n- a\n- b\nnext: x\n",
    "k:\n- a: 1\n  b: 2\n- c\n",
    "- - a\n  - b\n- c\n",
    "a: |-\n  x\n  y\n\nb: |+\n  z\n\n\nc: >\n  folded\n  text\n\n  para\n",
    "a: \"double\"\nb: 'single ''q'''\nc: \"esc \\\" \\\\ \\n \\t \\u00e9\"\n",
    "a: [x, 'y', \"z\", [1, 2], {k: v}]\nb: {a: 1, b: [x, y], c: {d: e}}\nc: {}\nd: []\n",
    "base:\n  '*':\n    - app0\n    - app1\n",
    "a:   b   # comment\nc: d#e\nf: g #h\n",
    "key with spaces: value with  spaces\n",
    "ключ: значение\nemoji: \"😀\"\n",
    "a: yes\nb: ~\nc: 1_000\nd: 0o17\ne: 0x1F\nf: 1.5e3\ng: 2001-12-14\n",
    "a:\n  b:\n    c:\n      d: deep\n  e: back\nf: top\n",
    "a:\n    - x\n    - y\nb:\n  - z\n",
    "top:\n  - name: x\n    args:\n      - 1\n      - 2\n  - name: y\n",
    "a: b\n\n\n# trailing comment\n",
    "a: b\n   ",
    "plain root scalar\n",
    "'quoted root'\n",
    "- a\n- b\n",
    "[1, 2, 3]\n",
    "{a: 1}\n",
    "a: [\n  1,\n  2\n]\n",
    "a: {x: 1,\n    y: 2}\nb: c\n",
    "\"k\": v\n'k2' : v2\n",
    "a: -1\nb: -x\nc: :x\nd: ?x\ne: a:b\n",
    "cmd.run:\n  - name: echo \"hi\" && ls -l /tmp | grep x\n",
    "a: |\n  text\n# comment at col 0\nb: 1\n",
    "a: |\n\n  after blank\n",
    "- |\n  in seq\n- >-\n  folded\n  seq\n",
    "a: |2\n   three\n  two\n",
];

#[test]
fn typical_shapes_take_the_fast_path() {
    for (i, src) in TYPICAL.iter().enumerate() {
        must_take_fast_path(src, &format!("typical[{i}]"));
    }
}

/// Inputs the fast scanner must leave to libyaml (errors or unsupported).
const BAIL: &[&str] = &[
    "a: 1\nb\nc: 2\n",
    "a: b: c\n",
    "a: - b\n",
    "a: 'x\n  y'\n",
    "a: x\n  y\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "---\na: 1\n",
    "a: 1\n...\n",
    "%YAML 1.1\n---\na: 1\n",
    "? a\n: b\n",
    "\u{feff}a: 1\n",
    "a:\tb\n",
    "a: b\r\nc: d\r\n",
    "a: [1, 2\n",
    "a: \"\\q\"\n",
    "a: 'unterminated\n",
    "[a]: b\n",
    "a: 1\n[x]\n",
    "a: \u{1}\n",
];

#[test]
fn unsupported_or_invalid_inputs_bail() {
    for src in BAIL {
        assert!(scan(src).is_none(), "should bail: {src:?}");
    }
}

// --- the repository's files -------------------------------------------------

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" && !name.starts_with("target-") {
                collect_yaml_files(&p, out);
            }
        } else if name.ends_with(".sls") || name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(p);
        }
    }
}

/// `salt['pillar.get']` and nothing else.
struct PillarGet {
    pillar: Value,
}

impl Functions for PillarGet {
    fn call(&self, fun: &str, args: Vec<Value>, _kwargs: Map) -> Result<Value, String> {
        if fun != "pillar.get" {
            return Err(format!("'{fun}' is not available."));
        }
        let key = args.first().and_then(Value::as_str).unwrap_or_default();
        let default = args.get(1).cloned().unwrap_or(Value::from(""));
        Ok(self.pillar.traverse(key, ":").cloned().unwrap_or(default))
    }
    fn has(&self, fun: &str) -> bool {
        fun == "pillar.get"
    }
    fn names(&self) -> Vec<String> {
        vec!["pillar.get".into()]
    }
}

/// Render Jinja SLS text as the bench's minion would (pillar `bench`,
/// grains `id`), or `None` when the template needs more than that.
fn render(text: &str, sls: &str, pillar: &Value) -> Option<String> {
    let fc = LocalFileClient::new(indexmap::IndexMap::new());
    let mut grains = Map::default();
    grains.insert("id".into(), "bench-minion".into());
    let grains = Value::Map(grains);
    let opts = Value::map();
    let funcs = PillarGet {
        pillar: pillar.clone(),
    };
    let ctx = RenderContext {
        opts: &opts,
        grains: &grains,
        pillar,
        saltenv: "base",
        sls,
        functions: &funcs,
        file_client: &fc,
        extra: Map::default(),
    };
    let path = format!("{}.sls", sls.replace('.', "/"));
    crate::jinja::render_sls_template(text, &path, &ctx).ok()
}

/// The text with Jinja statements dropped and expressions replaced, so
/// that templated files give more plain YAML to compare.
fn strip_jinja(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.contains("{%") || line.contains("{#") {
            continue;
        }
        let mut l = line.to_string();
        while let (Some(a), Some(b)) = (l.find("{{"), l.find("}}")) {
            if b < a {
                break;
            }
            l.replace_range(a..b + 2, "x");
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn repository_files_agree_with_libyaml() {
    let mut files = Vec::new();
    collect_yaml_files(&repo_root(), &mut files);
    assert!(files.len() > 100, "found only {} files", files.len());
    let pillar = bench_pillar();
    let (mut total, mut fast) = (0, 0);
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let name = f.display().to_string();
        let mut variants = vec![text.clone(), strip_jinja(&text)];
        if let Some(r) = render(&text, "some.sls", &pillar) {
            variants.push(r);
        }
        for v in &variants {
            total += 1;
            if check(v, &name) {
                fast += 1;
            }
            for m in mutations(v, 3, name.len() as u64) {
                check(&m, &name);
            }
        }
    }
    eprintln!("repo: fast {fast} of {total}");
    // Most of the repository's YAML is in the subset.
    assert!(fast * 2 > total, "fast path taken for {fast} of {total}");
}

// --- the bench tree ---------------------------------------------------------

fn bench_pillar() -> Value {
    crate::yaml::load(
        "bench:\n  owner: www-data\n  group: www-data\n  settings:\n    workers: 4\n    listen: 0.0.0.0\n",
    )
    .unwrap_or(Value::Null)
}

/// One SLS file of `bench/compile.sh`'s tree (keep in step with it).
fn bench_template(k: usize) -> String {
    let mut t = format!(
        "{{% set owner = salt['pillar.get']('bench:owner', 'root') %}}
{{% set settings = pillar['bench']['settings'] %}}
{{% set base = '/srv/bench/app{k}' %}}
{{% for i in range(25) %}}
app{k}_loop_{{{{ i }}}}:
  file.managed:
    - name: {{{{ base }}}}/loop{{{{ i }}}}.conf
    - user: {{{{ owner }}}}
    - group: {{{{ pillar['bench']['group'] }}}}
    - mode: '0644'
    - contents: |
        # generated for {{{{ grains['id'] }}}} by {{{{ sls }}}}
        index = {{{{ i }}}}
        workers = {{{{ settings.workers * (i + 1) }}}}
        name = {{{{ ('app{k}-' ~ i) | upper }}}}
{{% if i > 0 %}}
    - require:
      - file: app{k}_loop_{{{{ i - 1 }}}}
{{% endif %}}
{{% endfor %}}
"
    );
    for i in 0..25 {
        t.push_str(&format!(
            "app{k}_static_{i}:
  file.managed:
    - name: /srv/bench/app{k}/static{i}.conf
    - makedirs: True
    - contents:
      - line one of {i}
      - listen {{{{ settings.listen }}}}:{}
    - watch:
      - file: app{k}_loop_{}
",
            8000 + i,
            i % 25
        ));
        if i % 5 == 0 {
            t.push_str(&format!("    - onchanges:\n      - file: app{k}_loop_0\n"));
        }
    }
    t
}

#[test]
fn bench_tree_takes_the_fast_path() {
    let pillar = bench_pillar();
    let mut top = String::from("base:\n  '*':\n");
    for k in 0..20 {
        top.push_str(&format!("    - app{k}\n"));
    }
    must_take_fast_path(&top, "bench top.sls");
    must_take_fast_path("base:\n  '*':\n    - bench\n", "bench pillar top.sls");
    must_take_fast_path(
        "bench:\n  owner: www-data\n  group: www-data\n  settings:\n    workers: 4\n    listen: 0.0.0.0\n",
        "bench pillar",
    );
    for k in [0, 7, 19] {
        let sls = format!("app{k}");
        let text = render(&bench_template(k), &sls, &pillar).expect("bench template renders");
        assert!(
            text.len() > 8 * 1024,
            "rendered bench SLS is {} bytes",
            text.len()
        );
        must_take_fast_path(&text, &sls);
        // And the composed graph is the one libyaml's events give.
        let fast = format!("{:?}", super::super::compose::compose(&text));
        let slow = format!("{:?}", super::super::compose::compose_libyaml(&text));
        assert_eq!(fast, slow);
        for m in mutations(&text, 40, k as u64) {
            check(&m, &sls);
        }
    }
}

// --- generated and mutated documents ------------------------------------------

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const KEYS: &[&str] = &[
    "a",
    "key",
    "pkg.installed",
    "file.managed",
    "key with spaces",
    "'quoted key'",
    "\"dq key\"",
    "salt://x/y",
    "/etc/a b",
    "ключ",
    "a:b",
    "a#b",
    "-k",
    "?k",
    ":k",
    "k ",
    "'*'",
    "0644",
    "yes",
    "~",
    "a  b",
    "'it''s'",
];

const SCALARS: &[&str] = &[
    "x",
    "yes",
    "~",
    "1_000",
    "0o17",
    "0x1F",
    "1.5",
    "'0644'",
    "salt://x/y",
    "0.0.0.0:8000",
    "/etc/a b",
    "a #b",
    "a# b",
    "a:b",
    "a: b",
    "- x",
    "-x",
    "[a, b]",
    "[ a , 'b' ,\"c\" ]",
    "{a: 1, b: [x, y]}",
    "[]",
    "{}",
    "[a: b]",
    "{a, b}",
    "{\"x\":y}",
    "[a,]",
    "[,]",
    "{a: }",
    "'it''s'",
    "''",
    "\"\"",
    "\"a\\\"b\\u00e9\\x41\\U0001F600\"",
    "\"\\N\\_\\L\\P\\0\\e\"",
    "\"bad \\q\"",
    "\"a\\ud800\"",
    "\"tab\\tx\"",
    "'x' # c",
    "\"x\"#c",
    "x # c",
    "x  ",
    "héllo wörld",
    "😀",
    "a ? b",
    "@x",
    "`x",
    "%x",
    "!x",
    "&x y",
    "*x",
    "|",
    "|-",
    ">",
    "a'b",
    "a\"b",
    "a, b",
    "a]",
    "a}",
    "-",
    "--- x",
    "...",
    "? x",
];

const BLOCK_HEADERS: &[&str] = &[
    "|", "|-", "|+", ">", ">-", ">+", "|2", "|1-", "|+1", "|0", "| # c", "|#c", "|x", ">9",
];

const BLOCK_LINES: &[&str] = &[
    "text",
    "  more indented",
    "",
    " ",
    "   ",
    "# hash",
    "key: value",
    "- item",
    "a  b  ",
    "ünïcode",
    "{{ not jinja }}",
    "'quote",
];

struct Gen {
    rng: Rng,
    out: String,
}

impl Gen {
    fn spaces(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    fn line_end(&mut self) {
        match self.rng.below(12) {
            0 => self.out.push_str("  "),
            1 => self.out.push_str(" # comment"),
            2 => self.out.push_str("#x"),
            _ => {}
        }
        self.out.push('\n');
        match self.rng.below(14) {
            0 => self.out.push('\n'),
            1 => {
                let n = self.rng.below(8);
                self.spaces(n);
                self.out.push_str("# note\n");
            }
            2 => {
                let n = self.rng.below(6);
                self.spaces(n);
                self.out.push('\n');
            }
            _ => {}
        }
    }

    fn block_scalar(&mut self, indent: usize) {
        let h = self.rng.pick(BLOCK_HEADERS);
        self.out.push_str(h);
        self.out.push('\n');
        let ind = indent + 1 + self.rng.below(3);
        for _ in 0..self.rng.below(5) {
            let l = self.rng.pick(BLOCK_LINES);
            if l.is_empty() {
                self.out.push('\n');
                continue;
            }
            let extra = if self.rng.chance(10) { 1 } else { 0 };
            self.spaces(ind - extra.min(ind));
            self.out.push_str(l);
            self.out.push('\n');
        }
        for _ in 0..self.rng.below(3) {
            let n = self.rng.below(ind + 3);
            self.spaces(n);
            self.out.push('\n');
        }
    }

    /// A value after `key:` or `- ` (the line is open).
    fn value(&mut self, indent: usize, depth: usize) {
        let r = self.rng.below(10);
        if depth < 4 && r < 3 {
            // A nested block collection on the next lines.
            self.line_end();
            let step = if self.rng.chance(15) {
                0
            } else {
                1 + self.rng.below(3)
            };
            if step == 0 || self.rng.chance(40) {
                self.sequence(indent + step, depth + 1);
            } else {
                self.mapping(indent + step.max(1), depth + 1);
            }
        } else if r < 4 {
            self.out.push(' ');
            self.block_scalar(indent);
        } else if r < 5 {
            // Empty value.
            self.line_end();
        } else {
            self.out.push(' ');
            let s = self.rng.pick(SCALARS);
            self.out.push_str(s);
            self.line_end();
        }
    }

    fn mapping(&mut self, indent: usize, depth: usize) {
        for _ in 0..1 + self.rng.below(4) {
            let wobble = self.rng.chance(3);
            self.spaces(indent + usize::from(wobble));
            self.mapping_entry(indent, depth);
        }
    }

    /// `key: value` with the key at `indent` (already indented).
    fn mapping_entry(&mut self, indent: usize, depth: usize) {
        let k = self.rng.pick(KEYS);
        self.out.push_str(k);
        self.out
            .push_str(if self.rng.chance(4) { " :" } else { ":" });
        self.value(indent, depth);
    }

    fn sequence(&mut self, indent: usize, depth: usize) {
        for _ in 0..1 + self.rng.below(4) {
            self.spaces(indent);
            self.out.push('-');
            match self.rng.below(10) {
                0 if depth < 4 => {
                    // Compact mapping.
                    self.out.push(' ');
                    self.mapping_entry(indent + 2, depth + 1);
                    if self.rng.chance(50) {
                        self.spaces(indent + 2);
                        self.mapping_entry(indent + 2, depth + 1);
                    }
                }
                1 if depth < 4 => {
                    // Nested sequence on the same line.
                    self.out.push(' ');
                    self.out.push_str("- ");
                    let s = self.rng.pick(SCALARS);
                    self.out.push_str(s);
                    self.line_end();
                }
                2 => self.line_end(),
                _ => self.value(indent, depth),
            }
        }
    }

    fn document(&mut self) {
        match self.rng.below(10) {
            0 => self.sequence(0, 0),
            1 => {
                let s = self.rng.pick(SCALARS);
                self.out.push_str(s);
                self.line_end();
            }
            _ => self.mapping(0, 0),
        }
        if self.rng.chance(20) {
            // No final newline, or trailing blanks.
            while self.out.ends_with('\n') {
                self.out.pop();
            }
            if self.rng.chance(50) {
                self.out.push_str("  ");
            }
        }
    }
}

const NASTY: &[&str] = &[
    " ", "\n", ":", "-", "#", "'", "\"", "[", "]", "{", "}", ",", "|", ">", "\t", "a", "?", "&",
    "*", "!", "%", "\\", ": ", "- ", " #", "é", "\r", "---\n", "...",
];

/// `n` deterministic mutations of `src` (characters inserted, deleted or
/// replaced; lines duplicated, dropped or re-indented).
fn mutations(src: &str, n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = Vec::new();
    if src.is_empty() {
        return out;
    }
    let boundaries: Vec<usize> = src
        .char_indices()
        .map(|(i, _)| i)
        .chain([src.len()])
        .collect();
    for _ in 0..n {
        let mut s = src.to_string();
        let at = boundaries[rng.below(boundaries.len())];
        match rng.below(6) {
            0 | 1 => s.insert_str(at, rng.pick(NASTY)),
            2 => {
                if let Some(c) = s[at..].chars().next() {
                    s.replace_range(at..at + c.len_utf8(), "");
                }
            }
            3 => {
                if let Some(c) = s[at..].chars().next() {
                    let r = rng.pick(NASTY);
                    s.replace_range(at..at + c.len_utf8(), r);
                }
            }
            _ => {
                let mut lines: Vec<&str> = src.split('\n').collect();
                let i = rng.below(lines.len());
                let extra;
                match rng.below(3) {
                    0 => {
                        let l = lines[i];
                        lines.insert(i, l);
                    }
                    1 => {
                        lines.remove(i);
                    }
                    _ => {
                        extra = format!("{}{}", " ".repeat(1 + rng.below(3)), lines[i]);
                        lines[i] = &extra;
                        s = lines.join("\n");
                        out.push(s);
                        continue;
                    }
                }
                s = lines.join("\n");
            }
        }
        out.push(s);
    }
    out
}

#[test]
fn generated_documents_agree_with_libyaml() {
    let (mut total, mut fast) = (0usize, 0usize);
    for seed in 1..=6000u64 {
        let mut g = Gen {
            rng: Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1),
            out: String::new(),
        };
        g.document();
        let doc = g.out;
        total += 1;
        if check(&doc, "generated") {
            fast += 1;
        }
        for m in mutations(&doc, 4, seed) {
            check(&m, "mutated");
        }
    }
    eprintln!("generated: fast {fast} of {total}");
    // The generator must keep exercising the fast path, not only bails.
    assert!(fast * 5 > total, "fast path taken for {fast} of {total}");
}

#[test]
fn short_inputs_agree_with_libyaml() {
    // Every string of up to 3 characters from an alphabet of indicators.
    let alphabet = [
        "a", " ", "\n", ":", "-", "#", "'", "\"", "[", "]", "{", "}", ",", "|", ">", "?",
    ];
    let mut cur = vec![String::new()];
    for _ in 0..3 {
        let mut next = Vec::new();
        for s in &cur {
            for a in alphabet {
                let t = format!("{s}{a}");
                check(&t, "short");
                check(&format!("k: {t}"), "short value");
                check(&format!("- {t}\n"), "short item");
                next.push(t);
            }
        }
        cur = next;
    }
}

#[test]
fn long_keys_bail_before_libyaml_forgets_them() {
    let ok = format!("{}: v\n", "k".repeat(MAX));
    must_take_fast_path(&ok, "long key");
    let wide = format!("{}: v\n", "é".repeat(MAX / 2));
    must_take_fast_path(&wide, "long non-ASCII key");
    for n in [MAX + 1, 1023, 1024, 1025, 1030] {
        let src = format!("{}: v\n", "k".repeat(n));
        assert!(scan(&src).is_none(), "key of {n} bytes");
        check(
            &format!("- {}: v\n", "é".repeat(n / 2 + 1)),
            "long key in a sequence",
        );
    }
}

const MAX: usize = super::MAX_KEY_LEN;

#[test]
fn long_non_ascii_lines_stay_linear() {
    // One line with many tokens: columns are counted on, not recounted.
    let items: Vec<String> = (0..20_000).map(|i| format!("é{i}")).collect();
    let src = format!("k: [{}]\n", items.join(", "));
    let t = std::time::Instant::now();
    let events = scan(&src).expect("a flow sequence on one line");
    assert!(t.elapsed().as_secs() < 5, "took {:?}", t.elapsed());
    assert_eq!(events.len(), 20_000 + 9);
    must_take_fast_path(&src, "long line");
}
