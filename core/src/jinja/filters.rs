//! Salt's Jinja filters and tests (`@jinja_filter` / `@jinja_test` across
//! `salt/utils/*.py` and `SerializerExtension` in `salt/utils/jinja.py`),
//! plus Jinja2 behaviours minijinja lacks (lenient `int`/`float`, `round`,
//! `truncate`, `wordwrap`, `dictsort`, `join`/`sum` with `attribute`, ...).
//!
//! Not implemented (unknown-filter error): the file-system and host ones
//! (`which`, `file_hashsum`, `list_files`, `is_bin_file`, `is_text_file`,
//! `is_empty`, `get_uid`, `dns_check`, `http_query`), the random ones
//! (`random_shuffle`, `random_sample`, `rand_str`, `random_hash`,
//! `random_str`), `strftime`, `date_format`, `json_query`, `mysql_to_dict`,
//! `compare_dicts`, `xml`, `gen_mac`, `mac_str_to_bytes`, `ip_host`,
//! `network_hosts`, `network_size`, `filter_by_networks`.

use minijinja::value::{Kwargs, MutList, Rest, Tuple, Value as MjValue, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::convert::{from_jinja, to_jinja};
use super::RUNTIME_ERROR;
use crate::value::{py_float_repr, Map, Value};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn list(items: Vec<MjValue>) -> MjValue {
    MutList::new_value(items)
}

/// `str()` of a template value, as Python would print it.
fn py_str(v: &MjValue) -> String {
    v.to_string()
}

// ---------------------------------------------------------------- JSON

/// Options of Python's `json.dumps`.
#[derive(Clone, Copy)]
pub struct JsonOptions {
    pub sort_keys: bool,
    pub ensure_ascii: bool,
    pub indent: Option<usize>,
}

fn json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_key(k: &Value) -> String {
    match k {
        Value::Float(f) => crate::output::json::float(*f),
        other => other.key_string(),
    }
}

fn json_write(out: &mut String, v: &Value, o: JsonOptions, depth: usize) {
    let nl = |out: &mut String, d: usize| {
        if let Some(i) = o.indent {
            out.push('\n');
            out.push_str(&" ".repeat(i * d));
        }
    };
    let item_sep = if o.indent.is_some() { "," } else { ", " };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&crate::output::json::float(*f)),
        Value::Str(s) => json_str(out, s, o.ensure_ascii),
        Value::Bytes(b) => json_str(out, &String::from_utf8_lossy(b), o.ensure_ascii),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                nl(out, depth + 1);
                json_write(out, item, o, depth + 1);
            }
            nl(out, depth);
            out.push(']');
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(String, &Value)> =
                m.iter().map(|(k, v)| (json_key(k), v)).collect();
            if o.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (i, (k, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                nl(out, depth + 1);
                json_str(out, &k, o.ensure_ascii);
                out.push_str(": ");
                json_write(out, val, o, depth + 1);
            }
            nl(out, depth);
            out.push('}');
        }
    }
}

/// Python's `json.dumps(value, ...)`.
pub fn py_json_dumps(v: &Value, o: JsonOptions) -> String {
    let mut out = String::new();
    json_write(&mut out, v, o, 0);
    out
}

fn kw_bool(kw: &Kwargs, name: &str, default: bool) -> Result<bool, Error> {
    Ok(kw
        .get::<Option<MjValue>>(name)?
        .map(|v| v.is_true())
        .unwrap_or(default))
}

fn kw_indent(v: Option<MjValue>) -> Option<usize> {
    v.filter(|v| !v.is_none() && !v.is_undefined())
        .and_then(|v| v.as_usize())
}

/// `json` (SerializerExtension.format_json: sorted keys by default).
/// Python's `json.dumps` refuses Jinja2's `StrictUndefined` (a missing key
/// or index), wherever it sits in the value.
fn reject_undefined(value: &MjValue) -> Result<(), Error> {
    reject_undefined_in(value, 0)
}

fn reject_undefined_in(value: &MjValue, depth: usize) -> Result<(), Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "Object of type StrictUndefined is not JSON serializable",
        ));
    }
    // A self-containing list is json's "Circular reference": not ours to find.
    if depth > 100 {
        return Ok(());
    }
    match value.kind() {
        ValueKind::Seq => {
            if let Ok(items) = value.try_iter() {
                for item in items {
                    reject_undefined_in(&item, depth + 1)?;
                }
            }
        }
        ValueKind::Map => {
            if let Ok(keys) = value.try_iter() {
                for key in keys {
                    reject_undefined_in(&value.get_item(&key).unwrap_or_default(), depth + 1)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn filter_json(value: MjValue, args: Rest<MjValue>, kw: Kwargs) -> Result<MjValue, Error> {
    reject_undefined(&value)?;
    let sort_keys = match args.first() {
        Some(v) => v.is_true(),
        None => kw_bool(&kw, "sort_keys", true)?,
    };
    let indent = kw_indent(
        args.get(1)
            .cloned()
            .or(kw.get::<Option<MjValue>>("indent")?),
    );
    kw.assert_all_used()?;
    let o = JsonOptions {
        sort_keys,
        ensure_ascii: false,
        indent,
    };
    Ok(MjValue::from_safe_string(
        py_json_dumps(&from_jinja(&value), o).trim().to_string(),
    ))
}

/// `tojson` (Salt's: ensure_ascii, unsorted, HTML-safe escapes).
fn filter_tojson(value: MjValue, indent: Option<MjValue>, kw: Kwargs) -> Result<MjValue, Error> {
    reject_undefined(&value)?;
    let indent = kw_indent(indent.or(kw.get::<Option<MjValue>>("indent")?));
    let sort_keys = kw_bool(&kw, "sort_keys", false)?;
    let ensure_ascii = kw_bool(&kw, "ensure_ascii", true)?;
    let _ = kw.get::<Option<MjValue>>("default");
    let o = JsonOptions {
        sort_keys,
        ensure_ascii,
        indent,
    };
    let s = py_json_dumps(&from_jinja(&value), o)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027");
    Ok(MjValue::from_safe_string(s))
}

// ---------------------------------------------------------------- YAML

/// `yaml` (SerializerExtension.format_yaml: flow style by default).
fn filter_yaml(value: MjValue, flow_style: Option<MjValue>) -> Result<MjValue, Error> {
    let flow = flow_style.map(|v| v.is_true()).unwrap_or(true);
    let text = crate::yaml::format_yaml(&yaml_ready(&value), Some(flow), false);
    Ok(MjValue::from_safe_string(text))
}

/// Convert for YAML dumping: PyYAML sorts the keys of plain dicts but keeps
/// Salt's `OrderedDict`s (pillar) in order, so sort the plain ones here.
fn yaml_ready(v: &MjValue) -> Value {
    yaml_ready_depth(v, 0)
}

fn yaml_ready_depth(v: &MjValue, depth: usize) -> Value {
    if depth > 500 {
        return Value::Null;
    }
    let yaml_ready = |x: &MjValue| yaml_ready_depth(x, depth + 1);
    if let Some(m) = v.downcast_object_ref::<minijinja::value::MutMap>() {
        // Snapshot: no lock may be held while recursing.
        let snapshot: Vec<(MjValue, MjValue)> = m
            .map()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut entries: Vec<(Value, Value)> = snapshot
            .iter()
            .map(|(k, v)| (from_jinja(k), yaml_ready(v)))
            .collect();
        if !m.is_ordered() {
            let all_str = entries.iter().all(|(k, _)| matches!(k, Value::Str(_)));
            let all_num = entries
                .iter()
                .all(|(k, _)| matches!(k, Value::Int(_) | Value::Float(_) | Value::Bool(_)));
            if all_str {
                entries.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
            } else if all_num {
                let num = |v: &Value| match v {
                    Value::Float(f) => *f,
                    other => other.as_int().unwrap_or(0) as f64,
                };
                entries.sort_by(|a, b| num(&a.0).total_cmp(&num(&b.0)));
            }
        }
        return Value::Map(entries.into_iter().collect());
    }
    if let Some(l) = v.downcast_object_ref::<MutList>() {
        let items = l.items().clone();
        return Value::List(items.iter().map(yaml_ready).collect());
    }
    if let Some(t) = v.downcast_object_ref::<Tuple>() {
        return Value::List(t.0.iter().map(yaml_ready).collect());
    }
    from_jinja(v)
}

fn module_text(value: &MjValue) -> String {
    match value.as_str() {
        Some(s) => s.to_string(),
        None => value.to_string(),
    }
}

/// `load_yaml`.
pub(crate) fn load_yaml_str(text: &str) -> Result<MjValue, Error> {
    // Salt's message would quote PyYAML's mark buffer, which the C loader
    // does not have, so it ends up reporting the whole input.
    match crate::yaml::safe_load(text) {
        Ok(v) => Ok(to_jinja(&v)),
        Err(_) => Err(err(format!(
            "{RUNTIME_ERROR}Unable to load yaml from {text}"
        ))),
    }
}

fn filter_load_yaml(value: MjValue) -> Result<MjValue, Error> {
    load_yaml_str(&module_text(&value))
}

pub(crate) fn load_json_str(text: &str) -> Result<MjValue, Error> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(j) => Ok(to_jinja(&Value::from_json(&j))),
        Err(_) => Err(err(format!(
            "{RUNTIME_ERROR}Unable to load json from {text}"
        ))),
    }
}

fn filter_load_json(value: MjValue) -> Result<MjValue, Error> {
    load_json_str(&module_text(&value))
}

fn filter_load_text(value: MjValue) -> MjValue {
    MjValue::from(module_text(&value))
}

/// PyYAML's `write_double_quoted` with an unlimited width.
pub fn yaml_dquote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c if (0xd800..0xe000).contains(&(c as u32)) || c == '\u{feff}' => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// PyYAML's `write_single_quoted` with an unlimited width.
pub fn yaml_squote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn filter_yaml_encode(value: MjValue) -> Result<MjValue, Error> {
    let v = from_jinja(&value);
    Ok(MjValue::from(match &v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            if f.is_nan() {
                ".nan".into()
            } else if f.is_infinite() {
                if *f > 0.0 {
                    ".inf".into()
                } else {
                    "-.inf".into()
                }
            } else {
                py_float_repr(*f).to_lowercase()
            }
        }
        Value::Str(s) => yaml_dquote(s),
        _ => {
            return Err(err(format!(
                "yaml_encode() only works with YAML scalar data; failed for <class '{}'>",
                v.type_name()
            )))
        }
    }))
}

/// `dict_to_sls_yaml_params`.
fn filter_dict_to_sls_yaml_params(
    value: MjValue,
    flow_style: Option<MjValue>,
) -> Result<MjValue, Error> {
    let Some(pairs) = value
        .as_object()
        .and_then(|o| o.try_iter_pairs())
        .filter(|_| value.kind() == ValueKind::Map)
    else {
        return Err(err("dict_to_sls_yaml_params expects a dict"));
    };
    let items: Vec<MjValue> = pairs
        .map(|(k, v)| {
            let mut one = minijinja::value::BrineMap::new();
            one.insert(k, v);
            minijinja::value::MutMap::new_value(one)
        })
        .collect();
    filter_yaml(
        list(items),
        Some(MjValue::from(flow_style.is_some_and(|f| f.is_true()))),
    )
}

// ---------------------------------------------------------------- regex

/// Translate a Python regex to the `regex` crate's dialect (mostly the same).
fn py_regex(pattern: &str, ignorecase: bool, multiline: bool) -> Result<regex::Regex, Error> {
    let mut flags = String::new();
    if ignorecase {
        flags.push('i');
    }
    if multiline {
        flags.push('m');
    }
    let pat = pattern.replace("\\Z", "\\z");
    let full = if flags.is_empty() {
        pat
    } else {
        format!("(?{flags}){pat}")
    };
    regex::Regex::new(&full).map_err(|e| err(format!("bad regular expression {pattern:?}: {e}")))
}

fn regex_flags(kw: &Kwargs, args: &[MjValue]) -> Result<(bool, bool), Error> {
    let ic = match args.first() {
        Some(v) => v.is_true(),
        None => kw_bool(kw, "ignorecase", false)?,
    };
    let ml = match args.get(1) {
        Some(v) => v.is_true(),
        None => kw_bool(kw, "multiline", false)?,
    };
    Ok((ic, ml))
}

fn groups(caps: &regex::Captures) -> MjValue {
    Tuple::new_value(
        caps.iter()
            .skip(1)
            .map(|g| {
                g.map(|m| MjValue::from(m.as_str()))
                    .unwrap_or(MjValue::from(()))
            })
            .collect(),
    )
}

fn filter_regex_search(
    txt: String,
    rgx: String,
    args: Rest<MjValue>,
    kw: Kwargs,
) -> Result<MjValue, Error> {
    let (ic, ml) = regex_flags(&kw, &args)?;
    let re = py_regex(&rgx, ic, ml)?;
    Ok(re
        .captures(&txt)
        .map(|c| groups(&c))
        .unwrap_or(MjValue::from(())))
}

fn filter_regex_match(
    txt: String,
    rgx: String,
    args: Rest<MjValue>,
    kw: Kwargs,
) -> Result<MjValue, Error> {
    let (ic, ml) = regex_flags(&kw, &args)?;
    let re = py_regex(&format!("\\A(?:{rgx})"), ic, ml)?;
    Ok(re
        .captures(&txt)
        .map(|c| groups(&c))
        .unwrap_or(MjValue::from(())))
}

/// Python `re.sub` replacement syntax (`\1`, `\g<name>`) -> regex crate's.
fn py_replacement(val: &str) -> String {
    let mut out = String::new();
    let mut chars = val.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        n.push(d);
                        chars.next();
                        if n.len() == 2 {
                            break;
                        }
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

fn filter_regex_replace(
    txt: String,
    rgx: String,
    val: String,
    args: Rest<MjValue>,
    kw: Kwargs,
) -> Result<MjValue, Error> {
    let (ic, ml) = regex_flags(&kw, &args)?;
    let re = py_regex(&rgx, ic, ml)?;
    Ok(MjValue::from(
        re.replace_all(&txt, py_replacement(&val).as_str())
            .into_owned(),
    ))
}

fn filter_regex_escape(value: String) -> String {
    // Python 3.7+ re.escape: escape everything but [A-Za-z0-9_] and non-ASCII.
    let mut out = String::new();
    for c in value.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn test_match(txt: String, rgx: String, args: Rest<MjValue>, kw: Kwargs) -> Result<bool, Error> {
    let (ic, ml) = regex_flags(&kw, &args)?;
    let re = py_regex(&format!("\\A(?:{rgx})"), ic, ml)?;
    Ok(re.is_match(&txt))
}

// ---------------------------------------------------------------- lists

fn items_of(v: &MjValue) -> Result<Vec<MjValue>, Error> {
    Ok(v.try_iter()?.collect())
}

fn unique_vals(items: Vec<MjValue>) -> Vec<MjValue> {
    let mut out: Vec<MjValue> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn filter_unique(values: MjValue) -> Result<MjValue, Error> {
    Ok(list(unique_vals(items_of(&values)?)))
}

fn filter_union(a: MjValue, b: MjValue) -> Result<MjValue, Error> {
    let mut items = items_of(&a)?;
    items.extend(items_of(&b)?);
    Ok(list(unique_vals(items)))
}

fn filter_intersect(a: MjValue, b: MjValue) -> Result<MjValue, Error> {
    let bs = items_of(&b)?;
    Ok(list(unique_vals(
        items_of(&a)?
            .into_iter()
            .filter(|x| bs.contains(x))
            .collect(),
    )))
}

fn filter_difference(a: MjValue, b: MjValue) -> Result<MjValue, Error> {
    let bs = items_of(&b)?;
    Ok(list(unique_vals(
        items_of(&a)?
            .into_iter()
            .filter(|x| !bs.contains(x))
            .collect(),
    )))
}

fn filter_symmetric_difference(a: MjValue, b: MjValue) -> Result<MjValue, Error> {
    let av = items_of(&a)?;
    let bv = items_of(&b)?;
    let mut all = av.clone();
    all.extend(bv.iter().cloned());
    let both: Vec<MjValue> = av.iter().filter(|x| bv.contains(x)).cloned().collect();
    Ok(list(unique_vals(
        all.into_iter().filter(|x| !both.contains(x)).collect(),
    )))
}

fn filter_sequence(value: MjValue) -> MjValue {
    match value.kind() {
        ValueKind::Seq | ValueKind::Map => value,
        _ => list(vec![value]),
    }
}

fn filter_skip(_value: MjValue) -> MjValue {
    MjValue::from("")
}

fn filter_to_bool(value: MjValue) -> bool {
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => false,
        ValueKind::Bool => value.is_true(),
        ValueKind::String => {
            matches!(
                value.as_str().unwrap_or_default().to_lowercase().as_str(),
                "yes" | "1" | "true"
            )
        }
        ValueKind::Number if value.is_integer() => value.as_i64().is_some_and(|i| i > 0),
        ValueKind::Seq | ValueKind::Map => value.len().is_some_and(|l| l > 0),
        _ => false,
    }
}

fn minmax(value: MjValue, want_max: bool) -> Result<MjValue, Error> {
    let items = items_of(&value)?;
    let mut best: Option<MjValue> = None;
    for i in items {
        best = Some(match best {
            None => i,
            Some(b) => {
                let better = if want_max { i > b } else { i < b };
                if better {
                    i
                } else {
                    b
                }
            }
        });
    }
    best.ok_or_else(|| {
        err(format!(
            "{}() arg is an empty sequence",
            if want_max { "max" } else { "min" }
        ))
    })
}

fn filter_avg(value: MjValue) -> Result<MjValue, Error> {
    if value.kind() == ValueKind::Number {
        return Ok(MjValue::from(f64::try_from(value)?));
    }
    let items = items_of(&value)?;
    if items.is_empty() {
        return Err(err("division by zero"));
    }
    let mut sum = 0.0;
    for i in &items {
        sum += f64::try_from(i.clone())?;
    }
    Ok(MjValue::from(sum / items.len() as f64))
}

fn flatten_into(v: &Value, levels: Option<i64>, preserve_nulls: bool, out: &mut Vec<Value>) {
    if let Value::List(l) = v {
        for item in l {
            match item {
                Value::Null if !preserve_nulls => {}
                Value::List(_) if levels != Some(0) => {
                    flatten_into(item, levels.map(|l| l - 1), preserve_nulls, out);
                }
                other => out.push(other.clone()),
            }
        }
    }
}

fn filter_flatten(value: MjValue, kw: Kwargs) -> Result<MjValue, Error> {
    let levels = kw.get::<Option<i64>>("levels")?;
    let preserve_nulls = kw.get::<Option<bool>>("preserve_nulls")?.unwrap_or(false);
    let mut out = Vec::new();
    flatten_into(&from_jinja(&value), levels, preserve_nulls, &mut out);
    Ok(to_jinja(&Value::List(out)))
}

fn filter_sorted_ignorecase(value: MjValue) -> Result<MjValue, Error> {
    let mut items = items_of(&value)?;
    items.sort_by_key(|v| py_str(v).to_lowercase());
    Ok(list(items))
}

fn filter_substring_in_list(s: String, l: MjValue) -> Result<bool, Error> {
    Ok(items_of(&l)?
        .iter()
        .any(|i| i.as_str().is_some_and(|x| x.contains(&s))))
}

fn filter_exactly_n_true(value: MjValue, n: Option<usize>) -> Result<bool, Error> {
    Ok(items_of(&value)?.iter().filter(|v| v.is_true()).count() == n.unwrap_or(1))
}

fn filter_exactly_one_true(value: MjValue) -> Result<bool, Error> {
    filter_exactly_n_true(value, Some(1))
}

fn filter_to_entries(value: MjValue) -> Result<MjValue, Error> {
    let v = from_jinja(&value);
    let Value::Map(m) = v else {
        return Err(err("to_entries expects a dict"));
    };
    let out = m
        .into_iter()
        .map(|(k, v)| {
            let mut e = Map::default();
            e.insert("key".into(), k);
            e.insert("value".into(), v);
            Value::Map(e)
        })
        .collect();
    Ok(to_jinja(&Value::List(out)))
}

fn filter_from_entries(value: MjValue) -> Result<MjValue, Error> {
    let v = from_jinja(&value);
    let mut out = Map::default();
    for e in v.as_list().into_iter().flatten() {
        let Value::Map(m) = e else { continue };
        let find = |names: &[&str]| {
            names.iter().find_map(|n| {
                m.iter()
                    .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(n)))
                    .map(|(_, v)| v.clone())
            })
        };
        let k = find(&["key", "k", "name", "Name"]).unwrap_or(Value::Null);
        let val = find(&["value", "v"]).unwrap_or(Value::Null);
        out.insert(k, val);
    }
    Ok(to_jinja(&Value::Map(out)))
}

/// `traverse` (salt.utils.data.traverse_dict_and_list).
pub fn traverse(data: &Value, key: &Value, default: Value, delimiter: &str) -> Value {
    let parts: Vec<Value> = match key {
        Value::Int(_) => vec![key.clone()],
        Value::Str(s) => s.split(delimiter).map(Value::from).collect(),
        other => vec![other.clone()],
    };
    let mut ptr = data.clone();
    for each in parts {
        ptr = match ptr {
            Value::List(l) => {
                let idx = match &each {
                    Value::Int(i) => Some(*i),
                    Value::Str(s) => s.trim().parse::<i128>().ok(),
                    _ => None,
                };
                match idx {
                    Some(i) => {
                        let len = l.len() as i128;
                        let j = if i < 0 { i + len } else { i };
                        match usize::try_from(j).ok().and_then(|j| l.get(j)) {
                            Some(v) => v.clone(),
                            None => return default,
                        }
                    }
                    None => {
                        let found = l
                            .iter()
                            .find_map(|x| x.as_map().and_then(|m| m.get(&each)).cloned());
                        match found {
                            Some(v) => v,
                            None => return default,
                        }
                    }
                }
            }
            Value::Map(m) => match m.get(&each) {
                Some(v) => v.clone(),
                None => return default,
            },
            _ => return default,
        };
    }
    ptr
}

fn filter_traverse(
    data: MjValue,
    key: MjValue,
    args: Rest<MjValue>,
    kw: Kwargs,
) -> Result<MjValue, Error> {
    let default = args
        .first()
        .cloned()
        .or(kw.get::<Option<MjValue>>("default")?);
    let default = default.map(|d| from_jinja(&d)).unwrap_or(Value::Null);
    let delimiter = match args.get(1) {
        Some(d) => py_str(d),
        None => kw
            .get::<Option<String>>("delimiter")?
            .unwrap_or_else(|| ":".into()),
    };
    kw.assert_all_used()?;
    Ok(to_jinja(&traverse(
        &from_jinja(&data),
        &from_jinja(&key),
        default,
        &delimiter,
    )))
}

fn filter_json_decode(value: MjValue) -> MjValue {
    value
}

// ---------------------------------------------------------------- strings

/// Python's `shlex.quote`.
pub fn shlex_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn filter_quote(value: MjValue) -> String {
    shlex_quote(&py_str(&value))
}

/// Python's `posixpath.normpath`.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let initial = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if (initial == 0 && parts.is_empty()) || parts.last() == Some(&"..") {
                    parts.push("..");
                } else if !parts.is_empty() {
                    parts.pop();
                }
            }
            c => parts.push(c),
        }
    }
    let out = format!("{}{}", "/".repeat(initial), parts.join("/"));
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

/// `path_join` (salt.utils.path.join): later parts lose leading slashes.
fn filter_path_join(args: Rest<MjValue>, kw: Kwargs) -> Result<String, Error> {
    let _ = kw.get::<Option<bool>>("use_posixpath")?;
    kw.assert_all_used()?;
    let mut parts = args.iter().map(|p| normpath(&py_str(p)));
    let Some(mut out) = parts.next() else {
        return Ok(String::new());
    };
    for p in parts {
        let p = p.trim_start_matches('/');
        if out.is_empty() || out.ends_with('/') {
            out.push_str(p);
        } else {
            out.push('/');
            out.push_str(p);
        }
    }
    Ok(normpath(&out))
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn filter_truncate(s: String, args: Rest<MjValue>, kw: Kwargs) -> Result<String, Error> {
    let arg = |i: usize, name: &str| -> Result<Option<MjValue>, Error> {
        Ok(args.get(i).cloned().or(kw.get::<Option<MjValue>>(name)?))
    };
    let length = arg(0, "length")?.and_then(|v| v.as_usize()).unwrap_or(255);
    let killwords = arg(1, "killwords")?.is_some_and(|v| v.is_true());
    let end = arg(2, "end")?
        .map(|v| py_str(&v))
        .unwrap_or_else(|| "...".into());
    let leeway = arg(3, "leeway")?.and_then(|v| v.as_usize()).unwrap_or(5);
    kw.assert_all_used()?;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(s);
    }
    let cut: String = chars[..length.saturating_sub(end.chars().count())]
        .iter()
        .collect();
    if killwords {
        return Ok(cut + &end);
    }
    let result = match cut.rsplit_once(' ') {
        Some((head, _)) => head.to_string(),
        None => cut,
    };
    Ok(result + &end)
}

/// Jinja2's `center(width=80)` (Python `str.center`).
fn filter_center(s: String, width: Option<usize>) -> String {
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if len >= width {
        return s;
    }
    let pad = width - len;
    let left = pad / 2 + (pad & width & 1);
    format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left))
}

/// Jinja2's `dictsort(case_sensitive=False, by='key', reverse=False)`.
fn filter_dictsort(value: MjValue, args: Rest<MjValue>, kw: Kwargs) -> Result<MjValue, Error> {
    let case_sensitive = match args.first() {
        Some(v) => v.is_true(),
        None => kw_bool(&kw, "case_sensitive", false)?,
    };
    let by = match args.get(1) {
        Some(v) => py_str(v),
        None => kw
            .get::<Option<String>>("by")?
            .unwrap_or_else(|| "key".into()),
    };
    let reverse = match args.get(2) {
        Some(v) => v.is_true(),
        None => kw_bool(&kw, "reverse", false)?,
    };
    kw.assert_all_used()?;
    let pos = match by.as_str() {
        "key" => 0,
        "value" => 1,
        _ => return Err(err("You can only sort by either \"key\" or \"value\"")),
    };
    let mut pairs: Vec<(MjValue, MjValue)> =
        match value.as_object().and_then(|o| o.try_iter_pairs()) {
            Some(p) if value.kind() == ValueKind::Map => p.collect(),
            _ => return Err(err("dictsort filter expects a mapping")),
        };
    let sort_key = |p: &(MjValue, MjValue)| -> MjValue {
        let v = if pos == 0 { p.0.clone() } else { p.1.clone() };
        match v.as_str() {
            Some(s) if !case_sensitive => MjValue::from(s.to_lowercase()),
            _ => v,
        }
    };
    pairs.sort_by_key(sort_key);
    if reverse {
        pairs.reverse();
    }
    Ok(list(
        pairs
            .into_iter()
            .map(|(k, v)| Tuple::new_value(vec![k, v]))
            .collect(),
    ))
}

/// Jinja2's `join(d='', attribute=None)`.
fn filter_join(value: MjValue, args: Rest<MjValue>, kw: Kwargs) -> Result<String, Error> {
    let sep = match args.first() {
        Some(v) => py_str(v),
        None => kw.get::<Option<String>>("d")?.unwrap_or_default(),
    };
    let attribute = match args.get(1) {
        Some(v) => Some(py_str(v)),
        None => kw.get::<Option<String>>("attribute")?,
    };
    kw.assert_all_used()?;
    let mut parts = Vec::new();
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(a) => get_path(&item, a)?,
            None => item,
        };
        parts.push(py_str(&item));
    }
    Ok(parts.join(&sep))
}

/// Jinja2's `sum(attribute=None, start=0)`.
fn filter_sum(value: MjValue, args: Rest<MjValue>, kw: Kwargs) -> Result<MjValue, Error> {
    let attribute = match args.first() {
        Some(v) => Some(py_str(v)),
        None => kw.get::<Option<String>>("attribute")?,
    };
    let mut total = match args.get(1) {
        Some(v) => v.clone(),
        None => kw
            .get::<Option<MjValue>>("start")?
            .unwrap_or(MjValue::from(0)),
    };
    kw.assert_all_used()?;
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(a) => get_path(&item, a)?,
            None => item,
        };
        total = num_add(&total, &item)?;
    }
    Ok(total)
}

/// Jinja2's dotted attribute path (`attribute='a.b'` or `'a.0'`).
fn get_path(v: &MjValue, path: &str) -> Result<MjValue, Error> {
    let mut cur = v.clone();
    for part in path.split('.') {
        cur = match part.parse::<i64>() {
            Ok(i) => cur.get_item(&MjValue::from(i))?,
            Err(_) => cur.get_attr(part)?,
        };
    }
    Ok(cur)
}

/// `a + b` for numbers (Python's `sum`).
fn num_add(a: &MjValue, b: &MjValue) -> Result<MjValue, Error> {
    if a.kind() != ValueKind::Number && a.kind() != ValueKind::Bool
        || b.kind() != ValueKind::Number && b.kind() != ValueKind::Bool
    {
        return Err(err(format!(
            "unsupported operand type(s) for +: '{}' and '{}'",
            a.kind(),
            b.kind()
        )));
    }
    if (a.is_integer() || a.kind() == ValueKind::Bool)
        && (b.is_integer() || b.kind() == ValueKind::Bool)
    {
        let x = i128::try_from(a.clone())?;
        let y = i128::try_from(b.clone())?;
        return x
            .checked_add(y)
            .map(MjValue::from)
            .ok_or_else(|| err("integer overflow"));
    }
    Ok(MjValue::from(
        f64::try_from(a.clone())? + f64::try_from(b.clone())?,
    ))
}

/// Python's `urllib.parse.quote` (`safe` extra characters).
fn url_quote(s: &str, safe: &str, plus: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        let c = b as char;
        if b.is_ascii_alphanumeric() || "_.-~".contains(c) || safe.contains(c) {
            out.push(c);
        } else if plus && b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Jinja2's `urlencode`.
fn filter_urlencode(value: MjValue) -> Result<String, Error> {
    match value.kind() {
        ValueKind::String => Ok(url_quote(value.as_str().unwrap_or_default(), "/", false)),
        ValueKind::Map => {
            let pairs = value
                .as_object()
                .and_then(|o| o.try_iter_pairs())
                .into_iter()
                .flatten();
            Ok(pairs
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        url_quote(&py_str(&k), "", true),
                        url_quote(&py_str(&v), "", true)
                    )
                })
                .collect::<Vec<_>>()
                .join("&"))
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let mut out = Vec::new();
            for item in value.try_iter()? {
                let k = item.get_item_by_index(0)?;
                let v = item.get_item_by_index(1)?;
                out.push(format!(
                    "{}={}",
                    url_quote(&py_str(&k), "", true),
                    url_quote(&py_str(&v), "", true)
                ));
            }
            Ok(out.join("&"))
        }
        _ => Ok(url_quote(&py_str(&value), "/", false)),
    }
}

/// Jinja2's `forceescape` (markupsafe's HTML escaping).
fn filter_forceescape(value: MjValue) -> MjValue {
    let s = py_str(&value)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;");
    MjValue::from_safe_string(s)
}

// ---------------------------------------------------------------- hashes

fn bytes_of(v: &MjValue) -> Vec<u8> {
    match v.as_bytes() {
        Some(b) if v.kind() == ValueKind::Bytes => b.to_vec(),
        _ => py_str(v).into_bytes(),
    }
}

/// `uuid`: `uuid5` in Salt's namespace of the value's text.
fn filter_uuid(value: MjValue) -> String {
    const NS: [u8; 16] = [
        0x91, 0x63, 0x3e, 0xbf, 0x1c, 0x86, 0x5e, 0x33, 0x93, 0x5a, 0x28, 0x06, 0x1f, 0x4b, 0x48,
        0x0e,
    ];
    super::hashes::uuid5(&NS, &py_str(&value))
}

fn filter_hmac_compute(value: MjValue, secret: MjValue) -> String {
    super::hashes::hex(&super::hashes::hmac_sha256(
        &bytes_of(&secret),
        &bytes_of(&value),
    ))
}

fn filter_hmac(value: MjValue, secret: MjValue, challenge: MjValue) -> bool {
    let mac = super::hashes::hmac_sha256(&bytes_of(&secret), &bytes_of(&value));
    b64_encode(&mac).into_bytes() == bytes_of(&challenge)
}

// ---------------------------------------------------------------- dictupdate

/// The dict at all-but-the-last `keys` (created as needed) and the last key
/// (`salt.utils.dictupdate._dict_rpartition`).
fn dict_rpartition(
    in_dict: &MjValue,
    keys: &str,
    delimiter: &str,
) -> Result<(MjValue, MjValue), Error> {
    use minijinja::value::MutMap;
    let parts: Vec<&str> = keys.split(delimiter).collect();
    let (last, init) = parts.split_last().ok_or_else(|| err("empty key"))?;
    let mut cur = in_dict.clone();
    for p in init {
        let key = MjValue::from(*p);
        let next = {
            let Some(m) = cur.downcast_object_ref::<MutMap>() else {
                return Err(err(format!("Cannot create key {p}: not a dict")));
            };
            let mut map = m.map_mut();
            let entry = map
                .entry(key)
                .or_insert_with(|| MutMap::new_value(Default::default()));
            if entry.downcast_object_ref::<MutMap>().is_none() {
                return Err(err(format!("The key {p} is not a dict")));
            }
            entry.clone()
        };
        cur = next;
    }
    Ok((cur, MjValue::from(*last)))
}

fn dictupdate(
    op: &str,
    in_dict: MjValue,
    keys: String,
    value: MjValue,
    args: Rest<MjValue>,
    kw: Kwargs,
) -> Result<MjValue, Error> {
    use minijinja::value::MutMap;
    let delimiter = match args.first() {
        Some(d) => py_str(d),
        None => kw
            .get::<Option<String>>("delimiter")?
            .unwrap_or_else(|| ":".into()),
    };
    let _ = kw.get::<Option<bool>>("ordered_dict")?;
    kw.assert_all_used()?;
    let (parent, last) = dict_rpartition(&in_dict, &keys, &delimiter)?;
    let Some(pm) = parent.downcast_object_ref::<MutMap>() else {
        return Err(err("not a dict"));
    };
    let mut map = pm.map_mut();
    match op {
        "set" => {
            map.insert(last, value);
        }
        _ => {
            let existing = map.get(&last).cloned().filter(|v| !v.is_none());
            let target = match existing {
                Some(v) => v,
                None => {
                    let fresh = if op == "update" {
                        MutMap::new_value(Default::default())
                    } else {
                        MutList::new_value(Vec::new())
                    };
                    map.insert(last.clone(), fresh.clone());
                    fresh
                }
            };
            drop(map);
            match op {
                "update" => {
                    let Some(t) = target.downcast_object_ref::<MutMap>() else {
                        return Err(err(format!(
                            "The last key contains a {}, which cannot update.",
                            target.kind()
                        )));
                    };
                    let pairs: Vec<(MjValue, MjValue)> = value
                        .as_object()
                        .and_then(|o| o.try_iter_pairs())
                        .into_iter()
                        .flatten()
                        .collect();
                    t.map_mut().extend(pairs);
                }
                _ => {
                    let Some(t) = target.downcast_object_ref::<MutList>() else {
                        return Err(err(format!(
                            "The last key contains a {}, which cannot {op}.",
                            target.kind()
                        )));
                    };
                    if op == "append" {
                        t.items_mut().push(value);
                    } else {
                        let new: Vec<MjValue> = value.try_iter()?.collect();
                        t.items_mut().extend(new);
                    }
                }
            }
        }
    }
    Ok(in_dict)
}

// ---------------------------------------------------------------- network

fn is_ipv(value: &MjValue, version: u8) -> bool {
    let s = py_str(value);
    let addr = s.split('/').next().unwrap_or_default();
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => version == 4,
        Ok(std::net::IpAddr::V6(_)) => version == 6,
        Err(_) => false,
    }
}

fn in_net4(a: std::net::Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(a) & mask) == (u32::from(std::net::Ipv4Addr::from(net)) & mask)
}

/// Python `ipaddress` `is_private` for IPv4.
fn v4_private(a: std::net::Ipv4Addr) -> bool {
    const NETS: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 29),
        ([192, 0, 0, 170], 31),
        ([192, 0, 2, 0], 24),
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
        ([240, 0, 0, 0], 4),
        ([255, 255, 255, 255], 32),
    ];
    NETS.iter().any(|(n, p)| in_net4(a, *n, *p))
}

/// Python `ipaddress` `is_private` for IPv6 (the common ranges).
fn v6_private(a: std::net::Ipv6Addr) -> bool {
    let s = a.segments();
    a.is_loopback()
        || a.is_unspecified()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x2001 && s[1] < 0x0200)
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0)
        || (s[..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff)
}

/// `_is_ipv`: the address (or interface) text when it has the version and
/// passes the comma-separated `options`.
fn ipv_text(value: &MjValue, version: u8, options: Option<&str>) -> Option<String> {
    use std::net::IpAddr;
    let s = py_str(value);
    let (addr_s, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u32>().ok()?)),
        None => (s.as_str(), None),
    };
    let addr: IpAddr = addr_s.parse().ok()?;
    let ok_version = matches!((addr, version), (IpAddr::V4(_), 4) | (IpAddr::V6(_), 6));
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if !ok_version || prefix.is_some_and(|p| p > max) {
        return None;
    }
    let private = match addr {
        IpAddr::V4(a) => v4_private(a),
        IpAddr::V6(a) => v6_private(a),
    };
    for opt in options
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        let pass = match opt {
            "global" | "public" => !private,
            "link-local" | "linklocal" | "ll" | "link_local" => match addr {
                IpAddr::V4(a) => a.is_link_local(),
                IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
            },
            "loopback" | "lo" => addr.is_loopback(),
            "multicast" => addr.is_multicast(),
            "private" => private,
            "reserved" => matches!(addr, IpAddr::V4(a) if in_net4(a, [240, 0, 0, 0], 4)),
            "site-local" | "sl" | "site_local" => {
                matches!(addr, IpAddr::V6(a) if (a.segments()[0] & 0xffc0) == 0xfec0)
            }
            "unspecified" => addr.is_unspecified(),
            _ => true,
        };
        if !pass {
            return None;
        }
    }
    Some(match prefix {
        Some(p) => format!("{addr}/{p}"),
        None => addr.to_string(),
    })
}

/// `ipv4` / `ipv6` / `ipaddr` (`salt.utils.network._ipv_filter`).
fn ip_filter(value: &MjValue, versions: &[u8], options: Option<&str>) -> MjValue {
    let one = |v: &MjValue| versions.iter().find_map(|ver| ipv_text(v, *ver, options));
    match value.kind() {
        ValueKind::String | ValueKind::Bytes => {
            one(value).map(MjValue::from).unwrap_or(MjValue::from(()))
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<MjValue> = value.try_iter().map(|i| i.collect()).unwrap_or_default();
            let mut out = Vec::new();
            for ver in versions {
                out.extend(
                    items
                        .iter()
                        .filter_map(|v| ipv_text(v, *ver, options))
                        .map(MjValue::from),
                );
            }
            list(out)
        }
        _ => MjValue::from(()),
    }
}

fn filter_compare_lists(old: MjValue, new: MjValue) -> Result<MjValue, Error> {
    let old_items = items_of(&old)?;
    let new_items = items_of(&new)?;
    let mut out = minijinja::value::BrineMap::new();
    let added: Vec<MjValue> = new_items
        .iter()
        .filter(|i| !old_items.contains(i))
        .cloned()
        .collect();
    let removed: Vec<MjValue> = old_items
        .iter()
        .filter(|i| !new_items.contains(i))
        .cloned()
        .collect();
    if !added.is_empty() {
        out.insert(MjValue::from("new"), list(added));
    }
    if !removed.is_empty() {
        out.insert(MjValue::from("old"), list(removed));
    }
    Ok(minijinja::value::MutMap::new_value(out))
}

fn filter_zip_longest(a: MjValue, rest: Rest<MjValue>, kw: Kwargs) -> Result<MjValue, Error> {
    let fill = kw
        .get::<Option<MjValue>>("fillvalue")?
        .unwrap_or(MjValue::from(()));
    kw.assert_all_used()?;
    let mut lists = vec![items_of(&a)?];
    for r in rest.iter() {
        lists.push(items_of(r)?);
    }
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(list(
        (0..n)
            .map(|i| {
                Tuple::new_value(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or(fill.clone()))
                        .collect(),
                )
            })
            .collect(),
    ))
}

fn filter_permutations(value: MjValue, r: Option<usize>) -> Result<MjValue, Error> {
    let items = items_of(&value)?;
    let r = r.unwrap_or(items.len());
    let mut out = Vec::new();
    fn rec(
        items: &[MjValue],
        r: usize,
        used: &mut Vec<bool>,
        cur: &mut Vec<MjValue>,
        out: &mut Vec<MjValue>,
    ) {
        if cur.len() == r {
            out.push(Tuple::new_value(cur.clone()));
            return;
        }
        for i in 0..items.len() {
            if used[i] {
                continue;
            }
            used[i] = true;
            cur.push(items[i].clone());
            rec(items, r, used, cur, out);
            cur.pop();
            used[i] = false;
        }
    }
    if r <= items.len() {
        rec(
            &items,
            r,
            &mut vec![false; items.len()],
            &mut Vec::new(),
            &mut out,
        );
    }
    Ok(list(out))
}

/// `check_whitelist_blacklist(whitelist=None, blacklist=None)`.
fn filter_check_whitelist_blacklist(value: String, kw: Kwargs) -> Result<bool, Error> {
    let whitelist = kw
        .get::<Option<MjValue>>("whitelist")?
        .filter(|v| !v.is_none());
    let blacklist = kw
        .get::<Option<MjValue>>("blacklist")?
        .filter(|v| !v.is_none());
    kw.assert_all_used()?;
    let matches = |pats: &MjValue| -> Result<bool, Error> {
        let pats: Vec<String> = match pats.as_str() {
            Some(s) => vec![s.to_string()],
            None => items_of(pats)?.iter().map(py_str).collect(),
        };
        Ok(pats.iter().any(|p| {
            fnmatch(&value, p)
                || py_regex(&format!("\\A(?:{p})\\z"), false, false)
                    .is_ok_and(|re| re.is_match(&value))
        }))
    };
    let black = match &blacklist {
        Some(b) => Some(matches(b)?),
        None => None,
    };
    let white = match &whitelist {
        Some(w) => Some(matches(w)?),
        None => None,
    };
    Ok(match (black, white) {
        (Some(b), None) => !b,
        (None, Some(w)) => w,
        (Some(b), Some(w)) => !b && w,
        (None, None) => true,
    })
}

/// Python's `fnmatch.fnmatch` on POSIX (`*`, `?`, `[seq]`, `[!seq]`).
pub fn fnmatch(name: &str, pat: &str) -> bool {
    let mut re = String::from("(?s)\\A");
    let chars: Vec<char> = pat.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    re.push_str("\\[");
                } else {
                    let mut stuff: String =
                        chars[i..j].iter().collect::<String>().replace('\\', "\\\\");
                    i = j + 1;
                    if let Some(rest) = stuff.strip_prefix('!') {
                        stuff = format!("^{rest}");
                    } else if stuff.starts_with('^') {
                        stuff = format!("\\{stuff}");
                    }
                    re.push('[');
                    re.push_str(&stuff);
                    re.push(']');
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push_str("\\z");
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(name))
}

/// Jinja2's `wordcount`: the number of `\w+` runs.
fn filter_wordcount(s: String) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for c in s.chars() {
        let w = c.is_alphanumeric() || c == '_';
        if w && !in_word {
            count += 1;
        }
        in_word = w;
    }
    count
}

/// Jinja2's `round(value, precision=0, method='common')`, always a float.
fn filter_round(value: MjValue, args: Rest<MjValue>, kw: Kwargs) -> Result<MjValue, Error> {
    let precision = args
        .first()
        .cloned()
        .or(kw.get::<Option<MjValue>>("precision")?)
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    let method = match args.get(1) {
        Some(m) => py_str(m),
        None => kw
            .get::<Option<String>>("method")?
            .unwrap_or_else(|| "common".into()),
    };
    kw.assert_all_used()?;
    let f = f64::try_from(value)?;
    let m = 10f64.powi(precision as i32);
    let r = match method.as_str() {
        "common" => (f * m).round_ties_even() / m,
        "ceil" => (f * m).ceil() / m,
        "floor" => (f * m).floor() / m,
        _ => return Err(err("method must be 'common', 'ceil' or 'floor'")),
    };
    Ok(MjValue::from(r))
}

fn filter_to_snake_case(s: String) -> String {
    // salt.utils.stringutils.camel_to_snake_case
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn filter_to_camelcase(s: String, args: Rest<MjValue>, kw: Kwargs) -> Result<String, Error> {
    let uppercamel = match args.first() {
        Some(v) => v.is_true(),
        None => kw.get::<Option<bool>>("uppercamel")?.unwrap_or(false),
    };
    kw.assert_all_used()?;
    let mut out = String::new();
    for (i, part) in s.split('_').enumerate() {
        if i == 0 && !uppercamel {
            out.push_str(part);
        } else {
            let mut cs = part.chars();
            if let Some(f) = cs.next() {
                out.extend(f.to_uppercase());
                out.push_str(cs.as_str());
            }
        }
    }
    Ok(out)
}

fn filter_contains_whitespace(s: String) -> bool {
    s.chars().any(char::is_whitespace)
}

fn filter_is_hex(value: MjValue) -> bool {
    let s = py_str(&value);
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(&s)
        .to_string();
    !s.is_empty() && i128::from_str_radix(&s, 16).is_ok()
}

fn to_num(value: &MjValue) -> MjValue {
    if value.kind() == ValueKind::Number {
        return value.clone();
    }
    let s = py_str(value);
    if let Ok(i) = s.trim().parse::<i128>() {
        return MjValue::from(i);
    }
    if let Ok(f) = s.trim().parse::<f64>() {
        return MjValue::from(f);
    }
    value.clone()
}

fn filter_to_num(value: MjValue) -> MjValue {
    to_num(&value)
}

fn filter_human_to_bytes(size: MjValue, default_unit: Option<String>) -> Result<MjValue, Error> {
    let s = py_str(&size);
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit = unit.trim().to_uppercase();
    let unit = if unit.is_empty() {
        default_unit.unwrap_or_else(|| "B".into()).to_uppercase()
    } else {
        unit
    };
    let unit = unit.trim_end_matches("IB").trim_end_matches('B');
    let power = match unit {
        "" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        "E" => 6,
        "Z" => 7,
        "Y" => 8,
        _ => return Ok(MjValue::from(0)),
    };
    let n: f64 = num.parse().unwrap_or(0.0);
    Ok(MjValue::from((n * 1024f64.powi(power)) as i64))
}

fn b64_encode(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

fn filter_base64_encode(value: MjValue) -> String {
    match value.as_bytes() {
        Some(b) if value.kind() == ValueKind::Bytes => b64_encode(b),
        _ => b64_encode(py_str(&value).as_bytes()),
    }
}

fn filter_base64_decode(value: String) -> Result<MjValue, Error> {
    let bytes = b64_decode(&value).ok_or_else(|| err("Incorrect padding"))?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => MjValue::from(s),
        Err(e) => MjValue::from_bytes(e.into_bytes()),
    })
}

// ---------------------------------------------------------------- Jinja2 builtins

/// Jinja2's lenient `int` filter: unparsable input gives the default (0).
fn filter_int(value: MjValue, args: Rest<MjValue>, kw: Kwargs) -> Result<MjValue, Error> {
    let default = args
        .first()
        .cloned()
        .or(kw.get::<Option<MjValue>>("default")?)
        .unwrap_or(MjValue::from(0));
    let base = args
        .get(1)
        .cloned()
        .or(kw.get::<Option<MjValue>>("base")?)
        .and_then(|b| b.as_i64())
        .unwrap_or(10);
    match value.kind() {
        ValueKind::Number => {
            if value.is_integer() {
                Ok(value)
            } else {
                Ok(MjValue::from(f64::try_from(value)?.trunc() as i128))
            }
        }
        ValueKind::Bool => Ok(MjValue::from(value.is_true() as i64)),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().trim().replace('_', "");
            let (neg, digits) = match s.strip_prefix('-') {
                Some(r) => (true, r.to_string()),
                None => (false, s.strip_prefix('+').unwrap_or(&s).to_string()),
            };
            let parsed = if base == 10 {
                digits.parse::<i128>().ok()
            } else {
                let d = digits.to_lowercase();
                let d = match base {
                    16 => d.strip_prefix("0x").map(str::to_string).unwrap_or(d),
                    8 => d.strip_prefix("0o").map(str::to_string).unwrap_or(d),
                    2 => d.strip_prefix("0b").map(str::to_string).unwrap_or(d),
                    _ => d,
                };
                u32::try_from(base)
                    .ok()
                    .and_then(|b| i128::from_str_radix(&d, b).ok())
            };
            match parsed {
                Some(i) => Ok(MjValue::from(if neg { -i } else { i })),
                None => match s.parse::<f64>() {
                    Ok(f) if base == 10 && f.is_finite() => Ok(MjValue::from(f.trunc() as i128)),
                    _ => Ok(default),
                },
            }
        }
        _ => Ok(default),
    }
}

/// Jinja2's lenient `float` filter.
fn filter_float(value: MjValue, args: Rest<MjValue>, kw: Kwargs) -> Result<MjValue, Error> {
    let default = args
        .first()
        .cloned()
        .or(kw.get::<Option<MjValue>>("default")?)
        .unwrap_or(MjValue::from(0.0));
    match value.kind() {
        ValueKind::Number => Ok(MjValue::from(f64::try_from(value)?)),
        ValueKind::Bool => Ok(MjValue::from(if value.is_true() { 1.0 } else { 0.0 })),
        ValueKind::String => match value
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_lowercase()
            .parse::<f64>()
        {
            Ok(f) => Ok(MjValue::from(f)),
            Err(_) => Ok(default),
        },
        _ => Ok(default),
    }
}

/// Jinja2's `string` filter (Python `str()`).
fn filter_string(value: MjValue) -> MjValue {
    if value.kind() == ValueKind::String {
        value
    } else {
        MjValue::from(py_str(&value))
    }
}

/// Python's `repr` (the `python` filter and `pprint`-ish output).
fn filter_python(value: MjValue) -> MjValue {
    let v = if value.kind() == ValueKind::String {
        minijinja::value::py_str_repr(value.as_str().unwrap_or_default())
    } else {
        py_str(&value)
    };
    MjValue::from_safe_string(v)
}

fn filter_zip(a: MjValue, rest: Rest<MjValue>) -> Result<MjValue, Error> {
    let mut lists = vec![items_of(&a)?];
    for r in rest.iter() {
        lists.push(items_of(r)?);
    }
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(list(
        (0..n)
            .map(|i| Tuple::new_value(lists.iter().map(|l| l[i].clone()).collect()))
            .collect(),
    ))
}

fn combinations(items: &[MjValue], r: usize, with_replacement: bool) -> Vec<MjValue> {
    let mut out = Vec::new();
    let n = items.len();
    fn rec(
        items: &[MjValue],
        r: usize,
        start: usize,
        wr: bool,
        cur: &mut Vec<MjValue>,
        out: &mut Vec<MjValue>,
    ) {
        if cur.len() == r {
            out.push(Tuple::new_value(cur.clone()));
            return;
        }
        for i in start..items.len() {
            cur.push(items[i].clone());
            rec(items, r, if wr { i } else { i + 1 }, wr, cur, out);
            cur.pop();
        }
    }
    if r <= n || with_replacement {
        rec(items, r, 0, with_replacement, &mut Vec::new(), &mut out);
    }
    out
}

fn filter_combinations(value: MjValue, r: usize) -> Result<MjValue, Error> {
    Ok(list(combinations(&items_of(&value)?, r, false)))
}

fn filter_combinations_with_replacement(value: MjValue, r: usize) -> Result<MjValue, Error> {
    Ok(list(combinations(&items_of(&value)?, r, true)))
}

fn filter_product(a: MjValue, rest: Rest<MjValue>) -> Result<MjValue, Error> {
    let mut pools = vec![items_of(&a)?];
    for r in rest.iter() {
        pools.push(items_of(r)?);
    }
    let mut result: Vec<Vec<MjValue>> = vec![Vec::new()];
    for pool in pools {
        let mut next = Vec::new();
        for prefix in &result {
            for item in &pool {
                let mut p = prefix.clone();
                p.push(item.clone());
                next.push(p);
            }
        }
        result = next;
    }
    Ok(list(result.into_iter().map(Tuple::new_value).collect()))
}

fn filter_compress(data: MjValue, selectors: MjValue) -> Result<MjValue, Error> {
    let sel = items_of(&selectors)?;
    Ok(list(
        items_of(&data)?
            .into_iter()
            .zip(sel)
            .filter(|(_, s)| s.is_true())
            .map(|(d, _)| d)
            .collect(),
    ))
}

fn filter_method_call(
    obj: MjValue,
    name: String,
    args: Rest<MjValue>,
    state: &State,
) -> Result<MjValue, Error> {
    match obj.call_method(state, &name, &args) {
        Ok(v) => Ok(v),
        Err(e) if e.kind() == ErrorKind::UnknownMethod => Ok(MjValue::from(())),
        Err(e) => Err(e),
    }
}

/// Jinja2's `indent` (width, first, blank).
fn filter_indent(s: MjValue, args: Rest<MjValue>, kw: Kwargs) -> Result<MjValue, Error> {
    let width_v = args
        .first()
        .cloned()
        .or(kw.get::<Option<MjValue>>("width")?);
    let indention = match width_v {
        Some(w) if w.kind() == ValueKind::String => w.as_str().unwrap_or_default().to_string(),
        Some(w) => " ".repeat(w.as_usize().unwrap_or(4)),
        None => "    ".to_string(),
    };
    let first = args
        .get(1)
        .map(|v| v.is_true())
        .unwrap_or(kw_bool(&kw, "first", false)? || kw_bool(&kw, "indentfirst", false)?);
    let blank = args
        .get(2)
        .map(|v| v.is_true())
        .unwrap_or(kw_bool(&kw, "blank", false)?);
    let text = format!("{}\n", py_str(&s));
    let lines = crate::output::nested::splitlines(&text);
    let mut rv = if blank {
        lines.join(&format!("\n{indention}"))
    } else {
        let mut it = lines.into_iter();
        let mut rv = it.next().unwrap_or_default().to_string();
        let rest: Vec<String> = it
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("{indention}{l}")
                }
            })
            .collect();
        if !rest.is_empty() {
            rv.push('\n');
            rv.push_str(&rest.join("\n"));
        }
        rv
    };
    if first {
        rv = format!("{indention}{rv}");
    }
    Ok(MjValue::from(rv))
}

fn test_list(value: MjValue) -> bool {
    // salt.utils.data.is_list: a Python list (not a tuple).
    value.downcast_object_ref::<MutList>().is_some()
}

fn filter_is_list(value: MjValue) -> bool {
    test_list(value)
}

fn filter_is_iter(value: MjValue) -> bool {
    matches!(
        value.kind(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable
    )
}

/// Python's `textwrap.wrap(line, width, expand_tabs=False,
/// replace_whitespace=False, ...)` as Jinja2's `wordwrap` uses it
/// (hyphen splitting approximates textwrap's word-separator regex).
fn textwrap(
    line: &str,
    width: usize,
    break_long_words: bool,
    break_on_hyphens: bool,
) -> Vec<String> {
    // Chunks: whitespace runs and words (split after inner hyphens).
    let mut chunks: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut cur_ws = false;
    for c in line.chars() {
        let ws = c.is_whitespace();
        if !cur.is_empty() && ws != cur_ws {
            chunks.push(std::mem::take(&mut cur));
        }
        cur_ws = ws;
        cur.push(c);
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    if break_on_hyphens {
        let mut split = Vec::new();
        for ch in chunks {
            if ch.chars().next().is_some_and(char::is_whitespace) {
                split.push(ch);
                continue;
            }
            let cs: Vec<char> = ch.chars().collect();
            let mut start = 0;
            for i in 1..cs.len().saturating_sub(1) {
                if cs[i] == '-' && cs[i - 1].is_alphanumeric() && cs[i + 1].is_alphabetic() {
                    split.push(cs[start..=i].iter().collect());
                    start = i + 1;
                }
            }
            split.push(cs[start..].iter().collect());
        }
        chunks = split;
    }
    let width = width.max(1);
    let len = |s: &str| s.chars().count();
    chunks.reverse();
    let mut lines: Vec<String> = Vec::new();
    while !chunks.is_empty() {
        let mut cur_line: Vec<String> = Vec::new();
        let mut cur_len = 0;
        if chunks.last().is_some_and(|c| c.trim().is_empty()) && !lines.is_empty() {
            chunks.pop();
        }
        while let Some(last) = chunks.last() {
            let l = len(last);
            if cur_len + l <= width {
                cur_len += l;
                cur_line.push(chunks.pop().unwrap_or_default());
            } else {
                break;
            }
        }
        if let Some(last) = chunks.last().cloned() {
            if len(&last) > width {
                let space_left = width.saturating_sub(cur_len).max(1);
                if break_long_words {
                    let cs: Vec<char> = last.chars().collect();
                    let mut end = space_left.min(cs.len());
                    if break_on_hyphens && cs.len() > space_left {
                        if let Some(h) = cs[..space_left].iter().rposition(|c| *c == '-') {
                            if h > 0 && cs[..h].iter().any(|c| *c != '-') {
                                end = h + 1;
                            }
                        }
                    }
                    cur_line.push(cs[..end].iter().collect());
                    let rest: String = cs[end..].iter().collect();
                    if let Some(l) = chunks.last_mut() {
                        *l = rest;
                    }
                } else if cur_line.is_empty() {
                    cur_line.push(chunks.pop().unwrap_or_default());
                }
            }
        }
        if cur_line.last().is_some_and(|c| c.trim().is_empty()) {
            cur_line.pop();
        }
        if !cur_line.is_empty() {
            lines.push(cur_line.concat());
        }
    }
    lines
}

/// Jinja2's `wordwrap(width=79, break_long_words=True, wrapstring=None,
/// break_on_hyphens=True)`.
fn filter_wordwrap(s: String, args: Rest<MjValue>, kw: Kwargs) -> Result<String, Error> {
    let arg = |i: usize, name: &str| -> Result<Option<MjValue>, Error> {
        Ok(args.get(i).cloned().or(kw.get::<Option<MjValue>>(name)?))
    };
    let width = arg(0, "width")?.and_then(|v| v.as_usize()).unwrap_or(79);
    let break_long = arg(1, "break_long_words")?.is_none_or(|v| v.is_true());
    let wrapstring = arg(2, "wrapstring")?
        .filter(|v| !v.is_none())
        .map(|v| py_str(&v))
        .unwrap_or_else(|| "\n".into());
    let hyphens = arg(3, "break_on_hyphens")?.is_none_or(|v| v.is_true());
    kw.assert_all_used()?;
    Ok(crate::output::nested::splitlines(&s)
        .iter()
        .map(|line| textwrap(line, width, break_long, hyphens).join(&wrapstring))
        .collect::<Vec<_>>()
        .join(&wrapstring))
}

/// Jinja2's `attr`: attribute lookup only (dict keys and list items are
/// not attributes).
fn filter_attr(value: MjValue, name: String) -> Result<MjValue, Error> {
    let methods: &[&str] = if value.downcast_object_ref::<MutList>().is_some() {
        LIST_METHODS
    } else if value
        .downcast_object_ref::<minijinja::value::MutMap>()
        .is_some()
    {
        DICT_METHODS
    } else if value.downcast_object_ref::<Tuple>().is_some() {
        &["count", "index"]
    } else if value.kind() == ValueKind::String {
        STR_METHODS
    } else {
        return value.get_attr(&name);
    };
    if !methods.contains(&name.as_str()) {
        return Ok(MjValue::UNDEFINED);
    }
    // Python's bound method: calling it calls the method on the value.
    Ok(MjValue::from_function(
        move |state: &State, args: Rest<MjValue>| value.call_method(state, &name, &args),
    ))
}

/// Python's `dict` methods (what `attr` finds on a dict).
const DICT_METHODS: &[&str] = &[
    "clear",
    "copy",
    "fromkeys",
    "get",
    "items",
    "keys",
    "pop",
    "popitem",
    "setdefault",
    "update",
    "values",
];
/// Python's `list` methods.
const LIST_METHODS: &[&str] = &[
    "append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse",
    "sort",
];
/// Python's `str` methods.
const STR_METHODS: &[&str] = &[
    "capitalize",
    "casefold",
    "center",
    "count",
    "encode",
    "endswith",
    "expandtabs",
    "find",
    "format",
    "format_map",
    "index",
    "isalnum",
    "isalpha",
    "isascii",
    "isdecimal",
    "isdigit",
    "isidentifier",
    "islower",
    "isnumeric",
    "isprintable",
    "isspace",
    "istitle",
    "isupper",
    "join",
    "ljust",
    "lower",
    "lstrip",
    "maketrans",
    "partition",
    "removeprefix",
    "removesuffix",
    "replace",
    "rfind",
    "rindex",
    "rjust",
    "rpartition",
    "rsplit",
    "rstrip",
    "split",
    "splitlines",
    "startswith",
    "strip",
    "swapcase",
    "title",
    "translate",
    "upper",
    "zfill",
];

// ---------------------------------------------------------------- more Salt filters

/// Salt's Jinja filters (3007) without a Brine implementation.
const UNSUPPORTED_SALT_FILTERS: &[&str] = &[
    "dns_check",
    "file_hashsum",
    "gen_mac",
    "get_uid",
    "http_query",
    "is_bin_file",
    "is_text_file",
    "json_query",
    "list_files",
    "mac_str_to_bytes",
    "mysql_to_dict",
    "rand_str",
    "random_hash",
    "random_sample",
    "random_shuffle",
    "random_str",
    "which",
    "urlize",
    "xmlattr",
];

/// Jinja2's `replace(s, old, new, count=None)`: Python's `str.replace`.
fn filter_replace(
    s: MjValue,
    old: String,
    new: String,
    count: Option<MjValue>,
) -> Result<MjValue, Error> {
    let text = py_str(&s);
    let count = count.filter(|c| !c.is_none()).map(|c| {
        c.as_i64().ok_or_else(|| {
            err(format!(
                "'{}' object cannot be interpreted as an integer",
                c.kind()
            ))
        })
    });
    let out = match count.transpose()? {
        Some(n) if n >= 0 => text.replacen(&old, &new, n as usize),
        _ => text.replace(&old, &new),
    };
    Ok(if s.is_safe() {
        MjValue::from_safe_string(out)
    } else {
        MjValue::from(out)
    })
}

/// Jinja2's `random`: one item of a sequence (time-seeded; no `rand` crate).
fn filter_random(value: MjValue) -> Result<MjValue, Error> {
    let items = items_of(&value)?;
    if items.is_empty() {
        return Ok(MjValue::UNDEFINED);
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // splitmix64 step, to spread consecutive seeds.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    Ok(items[(z % items.len() as u64) as usize].clone())
}

/// `compare_dicts(old, new)` (salt.utils.data): `{key: {'old':.., 'new':..}}`
/// for changed, added (`old: ''`) and removed (`new: ''`) keys. Salt walks a
/// set (arbitrary order); Brine uses the keys' sorted order.
fn filter_compare_dicts(old: MjValue, new: MjValue) -> Result<MjValue, Error> {
    let pairs = |v: &MjValue| -> Result<Vec<(MjValue, MjValue)>, Error> {
        if v.is_none() || v.is_undefined() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for k in v.try_iter()? {
            let val = v.get_item(&k)?;
            out.push((k, val));
        }
        Ok(out)
    };
    let (old, new) = (pairs(&old)?, pairs(&new)?);
    let mut keys: Vec<MjValue> = new
        .iter()
        .chain(old.iter())
        .map(|(k, _)| k.clone())
        .collect();
    keys.sort();
    keys.dedup();
    let get = |l: &[(MjValue, MjValue)], k: &MjValue| {
        l.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone())
    };
    let entry = |a: (&str, MjValue), b: (&str, MjValue)| {
        let mut m = minijinja::value::BrineMap::new();
        m.insert(MjValue::from(a.0), a.1);
        m.insert(MjValue::from(b.0), b.1);
        minijinja::value::MutMap::new_value(m)
    };
    let mut out = minijinja::value::BrineMap::new();
    for k in keys {
        match (get(&old, &k), get(&new, &k)) {
            (None, Some(n)) => {
                out.insert(k, entry(("old", MjValue::from("")), ("new", n)));
            }
            (Some(o), None) => {
                out.insert(k, entry(("new", MjValue::from("")), ("old", o)));
            }
            (Some(o), Some(n)) if o != n => {
                out.insert(k, entry(("old", o), ("new", n)));
            }
            _ => {}
        }
    }
    Ok(minijinja::value::MutMap::new_value(out))
}

/// `is_empty(filename)` (salt.utils.files): whether the file exists and has
/// size 0.
fn filter_is_empty(value: MjValue) -> bool {
    std::fs::metadata(py_str(&value)).is_ok_and(|m| m.len() == 0)
}

/// `strftime` / `date_format` (salt.utils.dateutils): a timestamp (number
/// or digit string; none = now) formatted in local time, as Python's
/// `datetime.fromtimestamp(date).strftime(format)`. Date strings need
/// `timelib` in Salt; Brine refuses them as Salt does without it.
fn filter_strftime(date: Option<MjValue>, format: Option<String>) -> Result<String, Error> {
    let format = format.unwrap_or_else(|| "%Y-%m-%d".to_string());
    let ts: f64 = match &date {
        None => now_ts(),
        Some(d) if d.is_none() => now_ts(),
        Some(d) if d.kind() == ValueKind::Number => d
            .as_i64()
            .map(|i| i as f64)
            .or_else(|| f64::try_from(d.clone()).ok())
            .unwrap_or(0.0),
        Some(d) => {
            let text = py_str(d);
            text.trim().parse::<f64>().map_err(|_| {
                err(format!(
                    "Unable to parse {text}. Consider installing timelib"
                ))
            })?
        }
    };
    local_strftime(ts, &format)
}

fn now_ts() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// C `strftime` over `localtime` (what CPython uses), with Python's `%f`
/// (microseconds) and naive `%z`/`%Z` (empty).
fn local_strftime(ts: f64, format: &str) -> Result<String, Error> {
    let secs = ts.floor();
    let micros = ((ts - secs) * 1_000_000.0).round() as i64;
    let mut fmt = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            fmt.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => fmt.push_str(&format!("{micros:06}")),
            Some('z' | 'Z') => {}
            Some(o) => {
                fmt.push('%');
                fmt.push(o);
            }
            None => fmt.push('%'),
        }
    }
    let t = secs as libc::time_t;
    // SAFETY: `tm` is plain data filled in by `localtime_r` from a valid
    // `time_t`; `strftime` writes at most `buf.len()` bytes into `buf`.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return Err(err(format!("timestamp out of range: {ts}")));
        }
        let cfmt = std::ffi::CString::new(fmt).map_err(|_| err("embedded null character"))?;
        let mut buf = vec![0u8; 256 + format.len() * 16];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm);
        buf.truncate(n);
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}

// ---------------------------------------------------------------- networks

/// A parsed `ip_interface`: address and prefix length.
fn parse_iface(s: &str) -> Option<(std::net::IpAddr, u32)> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: std::net::IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p.parse::<u32>().ok().filter(|p| *p <= max)?,
        None => max,
    };
    Some((addr, prefix))
}

fn addr_bits(a: std::net::IpAddr) -> (u128, u32) {
    match a {
        std::net::IpAddr::V4(v) => (u32::from(v) as u128, 32),
        std::net::IpAddr::V6(v) => (u128::from(v), 128),
    }
}

fn bits_addr(bits: u128, width: u32) -> std::net::IpAddr {
    if width == 32 {
        std::net::IpAddr::V4(std::net::Ipv4Addr::from(bits as u32))
    } else {
        std::net::IpAddr::V6(std::net::Ipv6Addr::from(bits))
    }
}

fn net_mask(prefix: u32, width: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        (u128::MAX << (128 - prefix)) >> (128 - width)
    }
}

/// `_filter_ipaddr`: the values passing `ipaddr`/`ipv4`/`ipv6`, as a list.
fn filtered_ips(value: &MjValue, options: Option<&str>, version: Option<i64>) -> Vec<MjValue> {
    let versions: &[u8] = match version {
        Some(4) => &[4],
        Some(6) => &[6],
        _ => &[4, 6],
    };
    let out = ip_filter(value, versions, options);
    if out.is_none() || !out.is_true() {
        return Vec::new();
    }
    if out.kind() == ValueKind::Seq {
        out.try_iter().map(|i| i.collect()).unwrap_or_default()
    } else {
        vec![out]
    }
}

/// Applies `f` to the first filtered address (string input) or to each
/// (list input), as Salt's `ip_host`/`network_hosts`/`network_size` do.
fn per_ip(
    value: &MjValue,
    options: Option<String>,
    version: Option<i64>,
    f: impl Fn(&str) -> Result<MjValue, Error>,
) -> Result<MjValue, Error> {
    let ips = filtered_ips(value, options.as_deref(), version);
    let Some(first) = ips.first() else {
        return Ok(MjValue::from(()));
    };
    if matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable) {
        Ok(list(
            ips.iter()
                .map(|ip| f(&py_str(ip)))
                .collect::<Result<_, _>>()?,
        ))
    } else {
        f(&py_str(first))
    }
}

/// `ip_host`: `str(ipaddress.ip_interface(x))`.
fn filter_ip_host(
    v: MjValue,
    options: Option<String>,
    version: Option<i64>,
) -> Result<MjValue, Error> {
    per_ip(&v, options, version, |s| {
        let (a, p) = parse_iface(s).ok_or_else(|| {
            err(format!(
                "{s:?} does not appear to be an IPv4 or IPv6 interface"
            ))
        })?;
        Ok(MjValue::from(format!("{a}/{p}")))
    })
}

/// `network_hosts`: the usable hosts of `ip_network(x, strict=False)`.
fn filter_network_hosts(
    v: MjValue,
    options: Option<String>,
    version: Option<i64>,
) -> Result<MjValue, Error> {
    per_ip(&v, options, version, |s| {
        let (a, p) = parse_iface(s).ok_or_else(|| {
            err(format!(
                "{s:?} does not appear to be an IPv4 or IPv6 network"
            ))
        })?;
        let (bits, width) = addr_bits(a);
        let mask = net_mask(p, width);
        let net = bits & mask;
        let size_log = width - p;
        if size_log > 20 {
            return Err(err(format!(
                "network_hosts: {s} has too many hosts to list"
            )));
        }
        let last = net + (1u128 << size_log) - 1;
        let (first, end) = match (width, size_log) {
            (_, 0) => (net, net),
            (32, 1) | (128, 1) => (net, last),
            (32, _) => (net + 1, last - 1),
            _ => (net + 1, last),
        };
        Ok(list(
            (first..=end)
                .map(|b| MjValue::from(bits_addr(b, width).to_string()))
                .collect(),
        ))
    })
}

/// `network_size`: `ip_network(x, strict=False).num_addresses`.
fn filter_network_size(
    v: MjValue,
    options: Option<String>,
    version: Option<i64>,
) -> Result<MjValue, Error> {
    per_ip(&v, options, version, |s| {
        let (a, p) = parse_iface(s).ok_or_else(|| {
            err(format!(
                "{s:?} does not appear to be an IPv4 or IPv6 network"
            ))
        })?;
        let width = if a.is_ipv4() { 32 } else { 128 };
        let size_log = width - p;
        Ok(if size_log >= 64 {
            MjValue::from(1u128.checked_shl(size_log).unwrap_or(u128::MAX))
        } else {
            MjValue::from(1i64 << size_log)
        })
    })
}

/// `ipwrap`: IPv6 addresses in square brackets (strings or list items).
fn filter_ipwrap(v: MjValue) -> Result<MjValue, Error> {
    let wrap = |x: &MjValue| -> Result<MjValue, Error> {
        if x.kind() != ValueKind::String || ipv_text(x, 6, None).is_none() {
            return Ok(x.clone());
        }
        let s = py_str(x);
        let a: std::net::IpAddr = s
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| {
                err(format!(
                    "{s:?} does not appear to be an IPv4 or IPv6 address"
                ))
            })?;
        Ok(MjValue::from(format!("[{a}]")))
    };
    if v.downcast_object_ref::<MutList>().is_some() || v.downcast_object_ref::<Tuple>().is_some() {
        let items: Vec<MjValue> = v.try_iter()?.collect();
        return Ok(list(items.iter().map(wrap).collect::<Result<_, _>>()?));
    }
    wrap(&v)
}

/// `filter_by_networks(values, networks)`: the addresses inside any of the
/// networks (once per matching network, as Salt's comprehension); a dict
/// maps interfaces to address lists; `networks=None` keeps everything.
fn filter_filter_by_networks(values: MjValue, networks: MjValue) -> Result<MjValue, Error> {
    if networks.is_none() {
        return Ok(values);
    }
    let mut nets = Vec::new();
    for n in networks.try_iter()? {
        let s = py_str(&n);
        let (a, p) = parse_iface(&s).ok_or_else(|| {
            err(format!(
                "'{s}' does not appear to be an IPv4 or IPv6 network"
            ))
        })?;
        let (bits, width) = addr_bits(a);
        if bits & !net_mask(p, width) != 0 {
            return Err(err(format!("{s} has host bits set")));
        }
        nets.push((bits, p, width));
    }
    let filter = |ips: &MjValue| -> Result<MjValue, Error> {
        let mut out = Vec::new();
        for ip in ips.try_iter()? {
            let s = py_str(&ip);
            let a: std::net::IpAddr = s.parse().map_err(|_| {
                err(format!(
                    "'{s}' does not appear to be an IPv4 or IPv6 address"
                ))
            })?;
            let (bits, width) = addr_bits(a);
            for (nb, p, w) in &nets {
                if *w == width && bits & net_mask(*p, width) == *nb {
                    out.push(ip.clone());
                }
            }
        }
        Ok(list(out))
    };
    match values.kind() {
        ValueKind::Map => {
            let mut out = minijinja::value::BrineMap::new();
            for k in values.try_iter()? {
                let v = values.get_item(&k)?;
                out.insert(k, filter(&v)?);
            }
            Ok(minijinja::value::MutMap::new_value(out))
        }
        ValueKind::Seq | ValueKind::String => filter(&values),
        _ => Err(err(format!(
            "Do not know how to filter a {}",
            values.kind()
        ))),
    }
}

fn test_equalto(value: MjValue, other: MjValue) -> bool {
    value == other
}

/// `__salt_import(fmt, name)`: the `import_yaml`/`import_json`/`import_text`
/// tags; the file is rendered as a template first.
fn salt_import(state: &State, fmt: String, name: MjValue) -> Result<MjValue, Error> {
    let name = py_str(&name);
    let tmpl = state.env().get_template(&name)?;
    let text = tmpl.render(MjValue::from(()))?;
    match fmt.as_str() {
        "yaml" => load_yaml_str(&text),
        "json" => load_json_str(&text),
        _ => Ok(MjValue::from(text)),
    }
}

/// Register the filters, tests and helper functions.
pub(crate) fn register(env: &mut Environment) {
    // minijinja-contrib first (cycler, joiner, lipsum, ...); Salt's and
    // Jinja2's versions below take precedence.
    minijinja_contrib::add_to_environment(env);
    env.add_filter("center", filter_center);
    env.add_filter("json", filter_json);
    env.add_filter("tojson", filter_tojson);
    env.add_filter("yaml", filter_yaml);
    env.add_filter("load_yaml", filter_load_yaml);
    env.add_filter("load_json", filter_load_json);
    env.add_filter("load_text", filter_load_text);
    env.add_filter("yaml_encode", filter_yaml_encode);
    env.add_filter("yaml_dquote", |v: MjValue| yaml_dquote(&py_str(&v)));
    env.add_filter("yaml_squote", |v: MjValue| yaml_squote(&py_str(&v)));
    env.add_filter("dict_to_sls_yaml_params", filter_dict_to_sls_yaml_params);
    env.add_filter("python", filter_python);
    env.add_filter("regex_search", filter_regex_search);
    env.add_filter("regex_match", filter_regex_match);
    env.add_filter("regex_replace", filter_regex_replace);
    env.add_filter("regex_escape", filter_regex_escape);
    env.add_filter("unique", filter_unique);
    env.add_filter("union", filter_union);
    env.add_filter("intersect", filter_intersect);
    env.add_filter("difference", filter_difference);
    env.add_filter("symmetric_difference", filter_symmetric_difference);
    env.add_filter("sequence", filter_sequence);
    env.add_filter("skip", filter_skip);
    env.add_filter("to_bool", filter_to_bool);
    env.add_filter("min", |v: MjValue| minmax(v, false));
    env.add_filter("max", |v: MjValue| minmax(v, true));
    env.add_filter("avg", filter_avg);
    env.add_filter("flatten", filter_flatten);
    env.add_filter("sorted_ignorecase", filter_sorted_ignorecase);
    env.add_filter("substring_in_list", filter_substring_in_list);
    env.add_filter("exactly_n_true", filter_exactly_n_true);
    env.add_filter("exactly_one_true", filter_exactly_one_true);
    env.add_filter("to_entries", filter_to_entries);
    env.add_filter("from_entries", filter_from_entries);
    env.add_filter("traverse", filter_traverse);
    env.add_filter("json_decode_dict", filter_json_decode);
    env.add_filter("json_decode_list", filter_json_decode);
    env.add_filter("json_encode_dict", filter_json_decode);
    env.add_filter("json_encode_list", filter_json_decode);
    env.add_filter("quote", filter_quote);
    env.add_filter("path_join", filter_path_join);
    env.add_filter("to_snake_case", filter_to_snake_case);
    env.add_filter("to_camelcase", filter_to_camelcase);
    env.add_filter("contains_whitespace", filter_contains_whitespace);
    env.add_filter("is_hex", filter_is_hex);
    env.add_filter("to_num", filter_to_num);
    env.add_filter("str_to_num", filter_to_num);
    env.add_filter("human_to_bytes", filter_human_to_bytes);
    env.add_filter("base64_encode", filter_base64_encode);
    env.add_filter("base64_decode", filter_base64_decode);
    env.add_filter("is_list", filter_is_list);
    env.add_filter("is_iter", filter_is_iter);
    env.add_filter("method_call", filter_method_call);
    env.add_filter("zip", filter_zip);
    env.add_filter("combinations", filter_combinations);
    env.add_filter(
        "combinations_with_replacement",
        filter_combinations_with_replacement,
    );
    env.add_filter("product", filter_product);
    env.add_filter("compress", filter_compress);
    env.add_filter("int", filter_int);
    env.add_filter("float", filter_float);
    env.add_filter("string", filter_string);
    env.add_filter("indent", filter_indent);
    env.add_filter("truncate", filter_truncate);
    env.add_filter("wordcount", filter_wordcount);
    env.add_filter("md5", |v: MjValue| {
        super::hashes::hex(&super::hashes::md5(&bytes_of(&v)))
    });
    env.add_filter("sha1", |v: MjValue| {
        super::hashes::hex(&super::hashes::sha1(&bytes_of(&v)))
    });
    env.add_filter("sha256", |v: MjValue| {
        super::hashes::hex(&super::hashes::sha256(&bytes_of(&v)))
    });
    env.add_filter("sha512", |v: MjValue| {
        super::hashes::hex(&super::hashes::sha512(&bytes_of(&v)))
    });
    env.add_filter("hmac_compute", filter_hmac_compute);
    env.add_filter("hmac", filter_hmac);
    env.add_filter("uuid", filter_uuid);
    for op in ["set", "update", "append", "extend"] {
        env.add_filter(
            format!("{op}_dict_key_value"),
            move |d: MjValue, keys: String, value: MjValue, args: Rest<MjValue>, kw: Kwargs| {
                dictupdate(op, d, keys, value, args, kw)
            },
        );
    }
    env.add_filter("is_ip", |v: MjValue| is_ipv(&v, 4) || is_ipv(&v, 6));
    env.add_filter("ipv4", |v: MjValue, o: Option<String>| {
        ip_filter(&v, &[4], o.as_deref())
    });
    env.add_filter("ipv6", |v: MjValue, o: Option<String>| {
        ip_filter(&v, &[6], o.as_deref())
    });
    env.add_filter("ipaddr", |v: MjValue, o: Option<String>| {
        ip_filter(&v, &[4, 6], o.as_deref())
    });
    env.add_filter("is_ipv4", |v: MjValue| is_ipv(&v, 4));
    env.add_filter("is_ipv6", |v: MjValue| is_ipv(&v, 6));
    env.add_filter("compare_lists", filter_compare_lists);
    env.add_filter("zip_longest", filter_zip_longest);
    env.add_filter("permutations", filter_permutations);
    env.add_filter(
        "check_whitelist_blacklist",
        filter_check_whitelist_blacklist,
    );
    env.add_filter("to_bytes", |v: MjValue| MjValue::from_bytes(bytes_of(&v)));
    env.add_filter("dictsort", filter_dictsort);
    env.add_filter("join", filter_join);
    env.add_filter("sum", filter_sum);
    env.add_filter("urlencode", filter_urlencode);
    env.add_filter("forceescape", filter_forceescape);
    env.add_filter("attr", filter_attr);
    env.add_filter("wordwrap", filter_wordwrap);
    env.add_filter("random", filter_random);
    env.add_filter("replace", filter_replace);
    env.add_filter("compare_dicts", filter_compare_dicts);
    env.add_filter("is_empty", filter_is_empty);
    env.add_filter("strftime", filter_strftime);
    env.add_filter("date_format", filter_strftime);
    env.add_filter("ip_host", filter_ip_host);
    env.add_filter("network_hosts", filter_network_hosts);
    env.add_filter("network_size", filter_network_size);
    env.add_filter("ipwrap", filter_ipwrap);
    env.add_filter("filter_by_networks", filter_filter_by_networks);
    env.add_filter("round", filter_round);
    // Salt filters Brine does not implement: registered so that templates
    // naming them still load (Jinja2 resolves filters when compiling), and
    // fail clearly only when one actually runs.
    for name in UNSUPPORTED_SALT_FILTERS {
        env.add_filter(*name, move |_: Rest<MjValue>| -> Result<MjValue, Error> {
            Err(err(format!(
                "the Salt Jinja filter '{name}' is not supported by Brine"
            )))
        });
    }
    // Jinja2's `callable`: functions, macros, salt functions, bound methods.
    env.add_test("callable", |v: MjValue| v.kind() == ValueKind::Plain);
    env.add_test("match", test_match);
    env.add_test("equalto", test_equalto);
    env.add_test("list", test_list);
    env.add_function("__salt_import", salt_import);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_like_python() {
        let mut m = Map::default();
        m.insert(
            "b".into(),
            Value::List(vec![Value::Int(1), Value::Float(2.0)]),
        );
        m.insert("a".into(), Value::from("é<"));
        let v = Value::Map(m);
        let o = JsonOptions {
            sort_keys: true,
            ensure_ascii: false,
            indent: None,
        };
        assert_eq!(py_json_dumps(&v, o), r#"{"a": "é<", "b": [1, 2.0]}"#);
        let o = JsonOptions {
            sort_keys: false,
            ensure_ascii: true,
            indent: Some(2),
        };
        assert_eq!(
            py_json_dumps(&v, o),
            "{\n  \"b\": [\n    1,\n    2.0\n  ],\n  \"a\": \"\\u00e9<\"\n}"
        );
    }

    #[test]
    fn shlex_and_yaml_quotes() {
        assert_eq!(shlex_quote("abc"), "abc");
        assert_eq!(shlex_quote("a b'c"), "'a b'\"'\"'c'");
        assert_eq!(yaml_dquote("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(yaml_squote("it's"), "'it''s'");
    }

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "abcd", "hello world"] {
            assert_eq!(b64_decode(&b64_encode(s.as_bytes())).unwrap(), s.as_bytes());
        }
        assert_eq!(b64_encode(b"hello"), "aGVsbG8=");
    }

    #[test]
    fn python_replacement_syntax() {
        assert_eq!(py_replacement(r"\1-\g<name>$"), "${1}-${name}$$");
    }
}
