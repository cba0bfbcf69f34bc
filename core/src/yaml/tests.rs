//! Unit tests for the Salt YAML loader and dumper. Expected values were
//! checked against Salt 3007.8 (see also `core/tests/yaml_conformance.rs`,
//! which compares with a live Salt at test time).

use super::*;
use crate::value::Map;

fn l(src: &str) -> Value {
    match load(src) {
        Ok(v) => v,
        Err(e) => panic!("load({src:?}) failed: {e}"),
    }
}

fn e(src: &str) -> YamlError {
    match load(src) {
        Ok(v) => panic!("load({src:?}) should fail, got {v:?}"),
        Err(e) => e,
    }
}

fn map(pairs: Vec<(Value, Value)>) -> Value {
    Value::Map(pairs.into_iter().collect::<Map>())
}

fn s(x: &str) -> Value {
    Value::Str(x.into())
}

#[test]
fn nulls() {
    for src in [
        "~",
        "null",
        "Null",
        "NULL",
        "",
        "# only a comment\n",
        "---\n",
    ] {
        assert!(l(src).is_null(), "{src:?}");
    }
    assert_eq!(l("nULL"), s("nULL"));
}

#[test]
fn bools_are_yaml_1_1() {
    for t in [
        "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
    ] {
        assert!(matches!(l(t), Value::Bool(true)), "{t}");
    }
    for f in [
        "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
    ] {
        assert!(matches!(l(f), Value::Bool(false)), "{f}");
    }
    for st in ["y", "n", "Y", "N", "yEs", "'yes'"] {
        assert!(matches!(l(st), Value::Str(_)), "{st}");
    }
}

#[test]
fn ints_and_salt_leading_zero_hack() {
    let cases: &[(&str, i128)] = &[
        ("0", 0),
        ("-0", 0),
        ("0644", 644),
        ("00", 0),
        ("0_7", 7),
        ("-010", -8),
        ("+010", 8),
        ("0b101", 5),
        ("-0x1F", -31),
        ("0x_1f", 31),
        ("1_000", 1000),
        ("190:20:30", 685230),
        ("!!int 0644", 644),
        ("!!int '-010'", -8),
        ("! 123", 123),
        ("! '123'", 123),
        ("170141183460469231731687303715884105727", i128::MAX),
    ];
    for (src, want) in cases {
        match l(src) {
            Value::Int(i) => assert_eq!(i, *want, "{src}"),
            other => panic!("{src}: {other:?}"),
        }
    }
    for st in ["08", "0o644", "0b", "1:60", "'0644'", "\"12\""] {
        assert!(matches!(l(st), Value::Str(_)), "{st}");
    }
}

#[test]
fn ints_beyond_i128_keep_their_text() {
    let big = "12345678901234567890123456789012345678901234567890";
    assert_eq!(l(big), s(big));
}

#[test]
fn floats_follow_the_1_1_regex() {
    let cases: &[(&str, f64)] = &[
        ("1.0", 1.0),
        ("1.", 1.0),
        (".5", 0.5),
        ("1.0e+3", 1000.0),
        ("1.e+3", 1000.0),
        ("1_000.5", 1000.5),
        ("-1.5", -1.5),
        ("190:20:30.15", 685230.15),
        (".inf", f64::INFINITY),
        ("-.inf", f64::NEG_INFINITY),
        ("!!float 1e3", 1000.0),
        ("!!float '3'", 3.0),
        ("0.1", 0.1),
    ];
    for (src, want) in cases {
        match l(src) {
            Value::Float(f) => assert_eq!(f, *want, "{src}"),
            other => panic!("{src}: {other:?}"),
        }
    }
    assert!(matches!(l(".NaN"), Value::Float(f) if f.is_nan()));
    assert!(matches!(l("-0.0"), Value::Float(f) if f == 0.0 && f.is_sign_negative()));
    for st in ["1e3", "1.0e3", "inf", "nan", "-.nan", "1.2.3"] {
        assert!(matches!(l(st), Value::Str(_)), "{st}");
    }
}

#[test]
fn timestamps_stay_strings() {
    assert_eq!(l("2016-06-06"), s("2016-06-06"));
    assert_eq!(
        l("!!timestamp 2001-12-15T02:59:43.1Z"),
        s("2001-12-15T02:59:43.1Z")
    );
}

#[test]
fn binary_and_special_tags() {
    assert_eq!(l("!!binary aGVsbG8="), Value::Bytes(b"hello".to_vec()));
    assert_eq!(
        l("!!binary |\n  aGVs\n  bG8=\n"),
        Value::Bytes(b"hello".to_vec())
    );
    let err = e("!!binary aGVsbG8");
    assert_eq!(
        err.problem,
        "failed to decode base64 data: Incorrect padding"
    );
    assert_eq!(l("!!python/unicode x"), s("x"));
    assert_eq!(l("!!str 0644"), s("0644"));
    assert!(l("!!null foo").is_null());
    assert_eq!(
        l("!!omap {b: 1, a: 2}"),
        map(vec![(s("b"), Value::Int(1)), (s("a"), Value::Int(2))])
    );
    // Brine has no set or tuple: a set becomes a map to nulls, pairs lists.
    assert_eq!(
        l("!!set {a, b}"),
        map(vec![(s("a"), Value::Null), (s("b"), Value::Null)])
    );
    assert_eq!(
        l("!!pairs [a: 1, a: 2]"),
        Value::List(vec![
            Value::List(vec![s("a"), Value::Int(1)]),
            Value::List(vec![s("a"), Value::Int(2)]),
        ])
    );
}

#[test]
fn unknown_tags_are_errors() {
    let err = e("a: !foo bar");
    assert_eq!(err.kind, YamlErrorKind::Constructor);
    assert_eq!(
        err.message,
        "could not determine a constructor for the tag '!foo'\n  in \"<unicode string>\", line 1, column 4"
    );
    assert_eq!((err.line, err.column), (1, 4));
    assert_eq!(e("a: =").kind, YamlErrorKind::Constructor);
    assert_eq!(e("!!bool maybe").kind, YamlErrorKind::Other);
    assert_eq!(e("!!int abc").kind, YamlErrorKind::Other);
    assert_eq!(e("!!int [1]").kind, YamlErrorKind::Other);
    assert_eq!(e("!!float x").kind, YamlErrorKind::Other);
    assert_eq!(e("!!str [1]").kind, YamlErrorKind::Constructor);
    assert_eq!(e("!!map 5").kind, YamlErrorKind::Constructor);
}

#[test]
fn duplicate_keys_use_python_equality() {
    let err = e("a: 1\nb: 2\na: 3\n");
    assert_eq!(
        err.message,
        "while constructing a mapping\n  in \"<unicode string>\", line 1, column 1\nfound conflicting ID 'a'\n  in \"<unicode string>\", line 3, column 1"
    );
    assert_eq!((err.line, err.column), (3, 1));
    assert!(e("1: a\ntrue: b")
        .message
        .contains("found conflicting ID 'True'"));
    assert!(e("1: a\n1.0: b")
        .message
        .contains("found conflicting ID '1.0'"));
    assert!(e("~: a\nnull: b")
        .message
        .contains("found conflicting ID 'None'"));
    // '1' and 1 differ.
    assert_eq!(l("1: a\n'1': b").as_map().map(|m| m.len()), Some(2));
}

#[test]
fn unhashable_keys() {
    let err = e("? [1, 2]\n: x\n");
    assert!(err.message.contains(
        "found unacceptable key [ScalarNode(tag='tag:yaml.org,2002:int', value='1'), ScalarNode(tag='tag:yaml.org,2002:int', value='2')]"
    ));
    assert!(e("{{ a }}: b").message.contains("found unacceptable key"));
}

#[test]
fn merge_keys_go_first_and_own_keys_win() {
    let v = l("base: &b {a: 1, b: 2}\nd:\n  c: 4\n  <<: *b\n  b: 3\n");
    let d = v.get("d").and_then(Value::as_map).expect("d");
    let keys: Vec<&str> = d.keys().filter_map(Value::as_str).collect();
    assert_eq!(keys, ["a", "c", "b"]);
    assert_eq!(d.get(&s("b")), Some(&Value::Int(3)));

    // A list of merges: later ones first (Salt reverses the list).
    let v = l("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n");
    let keys: Vec<&str> = v
        .get("c")
        .and_then(Value::as_map)
        .map(|m| m.keys().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["y", "x"]);

    // Overlapping keys between merged maps are a conflict in Salt.
    let err = e("a: &a {x: 1}\nb: &b {x: 2}\nc:\n  <<: [*a, *b]\n");
    assert!(err.message.contains("found conflicting ID 'x'"));
    assert!(e("a:\n  <<: 1\n")
        .message
        .contains("expected a mapping or list of mappings for merging, but found scalar"));
    // A quoted << is an ordinary key.
    assert_eq!(l("{'<<': 1}").get("<<"), Some(&Value::Int(1)));
}

#[test]
fn anchors_and_aliases() {
    let v = l("a: &x [1, {k: v}]\nb: *x\n");
    assert_eq!(v.get("a"), v.get("b"));
    let err = e("a: *nope");
    assert_eq!(err.kind, YamlErrorKind::Composer);
    assert_eq!(err.problem, "found undefined alias");
    let err = e("a: &x 1\nb: &x 2\n");
    assert_eq!(
        err.message,
        "found duplicate anchor; first occurrence\n  in \"<unicode string>\", line 1, column 4\nsecond occurrence\n  in \"<unicode string>\", line 2, column 4"
    );
}

#[test]
fn recursive_aliases_are_refused() {
    let err = e("&a [*a]");
    assert!(err.message.contains("recursive alias"));
}

#[test]
fn alias_bombs_are_capped() {
    let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        src.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let err = e(&src);
    assert!(err.message.contains("more than"), "{}", err.message);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let src = "[".repeat(5000);
    let _ = load(&src).expect_err("unbalanced");
    let src = format!("{}{}", "[".repeat(201), "]".repeat(201));
    assert!(e(&src).message.contains("nested"));
    // Just under the limit loads, dumps and drops on a test thread's stack.
    let src = format!("{}{}", "{a: [".repeat(99), "]}".repeat(99));
    let v = l(&src);
    assert!(dump_with(&v, &DumpConfig::default()).starts_with("a:"));
}

#[test]
fn single_document_only() {
    let err = e("a: 1\n---\nb: 2\n");
    assert_eq!(err.kind, YamlErrorKind::Composer);
    assert_eq!(
        err.message,
        "expected a single document in the stream\n  in \"<unicode string>\", line 1, column 1\nbut found another document\n  in \"<unicode string>\", line 2, column 1"
    );
    assert_eq!(l("a: 1\n...\n"), map(vec![(s("a"), Value::Int(1))]));
}

#[test]
fn syntax_errors_read_like_pyyaml() {
    let err = e("a:\n  b: 1\n c: 2\n");
    assert_eq!(err.kind, YamlErrorKind::Parser);
    assert_eq!(
        err.message,
        "while parsing a block mapping\n  in \"<unicode string>\", line 1, column 1\ndid not find expected key\n  in \"<unicode string>\", line 3, column 2"
    );
    assert_eq!((err.line, err.column), (3, 2));
    let err = e("a: b: c");
    assert_eq!(err.kind, YamlErrorKind::Scanner);
    assert_eq!(
        err.problem,
        "mapping values are not allowed in this context"
    );
    let err = e("a:\n\tb: 1\n");
    assert_eq!(err.problem, "found character that cannot start any token");
    assert_eq!((err.line, err.column), (2, 1));
    let err = e("a: \u{7}\n");
    assert_eq!(err.kind, YamlErrorKind::Reader);
    assert_eq!(
        err.message,
        "unacceptable character #x0007: control characters are not allowed\n  in \"<unicode string>\", position 3"
    );
}

#[test]
fn tabs_after_colon_and_bom() {
    assert_eq!(l("a:\tb"), map(vec![(s("a"), s("b"))]));
    assert_eq!(l("\u{feff}a: b\n"), map(vec![(s("a"), s("b"))]));
}

#[test]
fn order_is_kept() {
    let v = l("z: 1\na: 2\nm: 3\n");
    let keys: Vec<&str> = v
        .as_map()
        .map(|m| m.keys().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["z", "a", "m"]);
}

#[test]
fn garbage_never_panics() {
    let samples = [
        "{",
        "}",
        "[",
        "]",
        "? ",
        ": ",
        "- - -",
        "&",
        "*",
        "!",
        "!<",
        "%YAML 1.1\n",
        "%FOO\n---\n",
        "'",
        "\"\\",
        "|",
        ">-2",
        "a: |\n x\n  y",
        "\u{0}",
        "--- !!binary\n",
        "<<: *a",
        "{<<: [1]}",
        "- !!pairs {}",
        "!!set [1]",
        "!!omap 3",
        "? !!int x\n: y",
    ];
    for src in samples {
        let _ = load(src);
    }
}

fn dump_str(v: &Value, cfg: DumpConfig) -> String {
    dump_with(v, &cfg)
}

#[test]
fn dump_block_and_flow() {
    let v = l("b: 1\na: [x, 'yes']\nc: {d: 0644}\n");
    let block = DumpConfig {
        default_flow_style: Some(false),
        sort_keys: false,
        ..DumpConfig::default()
    };
    assert_eq!(
        dump_str(&v, block),
        "b: 1\na:\n- x\n- 'yes'\nc:\n  d: 644\n"
    );
    assert_eq!(
        dump(
            &v,
            DumpOptions {
                default_flow_style: false
            }
        ),
        "a:\n- x\n- 'yes'\nb: 1\nc:\n  d: 644\n"
    );
    assert_eq!(
        dump_str(&v, DumpConfig::default()),
        "a: [x, 'yes']\nb: 1\nc: {d: 644}\n"
    );
}

#[test]
fn dump_scalars_without_document_end() {
    // libyaml (as in Salt's CSafeDumper) writes no `...` after a bare
    // scalar, unlike PyYAML's pure-Python emitter.
    assert_eq!(dump_str(&s("hello"), DumpConfig::default()), "hello\n");
    assert_eq!(dump_str(&Value::Null, DumpConfig::default()), "null\n");
    assert_eq!(dump_str(&s(""), DumpConfig::default()), "''\n");
    assert_eq!(
        dump_str(&Value::Float(1e20), DumpConfig::default()),
        "1.0e+20\n"
    );
    assert_eq!(
        dump_str(&Value::Float(f64::NAN), DumpConfig::default()),
        ".nan\n"
    );
}

#[test]
fn dump_quotes_what_would_resolve_otherwise() {
    for (text, want) in [
        ("yes", "'yes'"),
        ("0644", "'0644'"),
        ("1.0", "'1.0'"),
        ("~", "'~'"),
        ("2016-06-06", "'2016-06-06'"),
        ("1e3", "1e3"),
        ("y", "y"),
    ] {
        let out = dump_str(&Value::List(vec![s(text)]), DumpConfig::default());
        assert_eq!(out, format!("[{want}]\n"), "{text}");
    }
}

#[test]
fn dump_unsortable_keys_keep_order() {
    let v = map(vec![
        (s("b"), Value::Int(1)),
        (Value::Int(1), Value::Int(2)),
    ]);
    assert_eq!(dump_str(&v, DumpConfig::default()), "{b: 1, 1: 2}\n");
    let block = DumpConfig {
        default_flow_style: Some(false),
        ..DumpConfig::default()
    };
    assert_eq!(dump_str(&v, block), "b: 1\n1: 2\n");
}

#[test]
fn yaml_out_options() {
    let v = l("a: {b: [1]}");
    assert_eq!(
        dump_with(&v, &DumpConfig::yaml_out(None)),
        "a:\n  b:\n  - 1\n"
    );
    assert_eq!(
        dump_with(&v, &DumpConfig::yaml_out(Some(4))),
        "a:\n    b:\n    - 1\n"
    );
    assert_eq!(
        dump_with(&v, &DumpConfig::yaml_out(Some(-1))),
        "{a: {b: [1]}}\n"
    );
}

#[test]
fn jinja_yaml_filter() {
    assert_eq!(
        format_yaml(&s("hello world"), Some(true), true),
        "hello world"
    );
    let v = l("b: [1, 2]\na: {c: d}");
    assert_eq!(format_yaml(&v, Some(true), true), "{a: {c: d}, b: [1, 2]}");
    assert_eq!(
        format_yaml(&v, Some(false), false),
        "b:\n- 1\n- 2\na:\n  c: d"
    );
}

#[test]
fn quote_filters() {
    assert_eq!(
        dump_scalar_double_quoted("a\"b\\c\té"),
        "\"a\\\"b\\\\c\\t\\xE9\""
    );
    assert_eq!(dump_scalar_double_quoted("😀"), "\"\\U0001F600\"");
    assert_eq!(dump_scalar_single_quoted("it's"), "'it''s'");
    assert_eq!(dump_scalar_single_quoted("a\nb"), "'a\n\nb'");
    assert_eq!(yaml_encode(&s("yes")).as_deref(), Ok("\"yes\""));
    assert_eq!(yaml_encode(&Value::Int(5)).as_deref(), Ok("5"));
    assert_eq!(yaml_encode(&Value::Null).as_deref(), Ok("null"));
    assert_eq!(yaml_encode(&Value::Float(1e17)).as_deref(), Ok("1.0e+17"));
    assert!(yaml_encode(&Value::List(vec![])).is_err());
}

#[test]
fn round_trip_through_dump() {
    let src = "name: web\nports: [80, 443]\nmode: '0644'\nflags: {enabled: true, ratio: 0.5}\nempty: ''\nnothing: null\n";
    let v = l(src);
    for flow in [None, Some(false), Some(true)] {
        let cfg = DumpConfig {
            default_flow_style: flow,
            sort_keys: false,
            ..DumpConfig::default()
        };
        assert_eq!(l(&dump_with(&v, &cfg)), v, "{flow:?}");
    }
}

#[test]
fn shared_top_level_bodies_are_noted() {
    load("a: &x {k: 1}\nb: {k: 1}\nc: *x\nd: &y 2\ne: *y\n").unwrap();
    assert_eq!(take_shared_top(), vec![("c".to_string(), "a".to_string())]);
    assert!(take_shared_top().is_empty());
    load("a: 1\n").unwrap();
    assert!(take_shared_top().is_empty());
}
