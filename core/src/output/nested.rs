//! The `nested` outputter (`salt/output/nested.py`), salt-call's default.
//!
//! Python's version sorts the keys of plain dicts and keeps the order of
//! `OrderedDict`s. [`Value`] does not record which one a map was, so the
//! caller says, per nesting depth, which maps to sort ([`SortMaps`]).

use super::pyrepr;
use super::Colors;
use crate::value::{Map, Value};

/// Which maps get their keys sorted (Python: plain dicts are sorted,
/// `OrderedDict`s are not). Depth 0 is the data passed to [`output`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SortMaps {
    /// Every map is a plain dict.
    #[default]
    All,
    /// Every map is an OrderedDict.
    Never,
    /// Only the maps at these depths are plain dicts (depth counts the
    /// containers, maps and lists, around a value).
    Depths(Vec<usize>),
    /// A highstate under `{"local": ...}`: the wrapper is a dict, the
    /// highstate and YAML-declared state bodies are OrderedDicts, while the
    /// bodies Salt builds for a short `id: mod.fun` declaration (first key
    /// `__sls__`) are plain dicts.
    Highstate,
}

impl SortMaps {
    /// Whether maps at `depth` are sorted.
    pub fn sorts(&self, depth: usize, map: &Map) -> bool {
        match self {
            SortMaps::All => true,
            SortMaps::Never => false,
            SortMaps::Depths(d) => d.contains(&depth),
            SortMaps::Highstate => {
                depth == 0
                    || (depth == 2 && map.keys().next().and_then(Value::as_str) == Some("__sls__"))
            }
        }
    }
}

/// Options of the nested outputter.
#[derive(Debug, Clone, Default)]
pub struct NestedOptions {
    pub color: bool,
    /// The job's retcode: non-zero paints the structure red.
    pub retcode: i32,
    /// `nested_indent`.
    pub base_indent: usize,
    pub sort: SortMaps,
}

/// Render `data` as `salt.output.nested.output` does (no trailing newline).
pub fn output(data: &Value, opts: &NestedOptions) -> String {
    let colors = Colors::new(opts.color);
    let nest = Nest { c: colors, opts };
    let mut out = Vec::new();
    nest.display(data, opts.base_indent, "", 0, &mut out);
    out.join("\n")
}

/// Python's `str.splitlines()`.
pub fn splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            lines.push(&s[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = it.peek() {
                    it.next();
                    end = j + 1;
                }
            }
            start = end;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

/// Python's `sorted()` over dict keys, with nested.py's fallback to `str(k)`
/// keys when they are not comparable.
pub(crate) fn sorted_items(m: &Map) -> Vec<(Value, &Value)> {
    let all_str = m.keys().all(|k| matches!(k, Value::Str(_)));
    let all_num = m
        .keys()
        .all(|k| matches!(k, Value::Int(_) | Value::Bool(_) | Value::Float(_)));
    let mut items: Vec<(Value, &Value)> = if all_str || all_num {
        m.iter().map(|(k, v)| (k.clone(), v)).collect()
    } else {
        // `{str(k): v for k, v in ret.items()}`: later duplicates win.
        let mut seen: indexmap::IndexMap<String, &Value> = indexmap::IndexMap::new();
        for (k, v) in m {
            seen.insert(pyrepr::str_of(k), v);
        }
        seen.into_iter().map(|(k, v)| (Value::Str(k), v)).collect()
    };
    if all_num && !all_str {
        items.sort_by(|a, b| num(&a.0).total_cmp(&num(&b.0)));
    } else {
        items.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
    }
    items
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        other => other.as_int().unwrap_or(0) as f64,
    }
}

struct Nest<'a> {
    c: Colors,
    opts: &'a NestedOptions,
}

impl Nest<'_> {
    fn ustring(&self, indent: usize, color: &str, msg: &str, prefix: &str, suffix: &str) -> String {
        format!(
            "{}{}{}{}{}{}",
            " ".repeat(indent),
            color,
            prefix,
            msg,
            self.c.endc,
            suffix
        )
    }

    fn structure_color(&self, normal: &'static str) -> &'static str {
        if self.opts.retcode != 0 {
            self.c.red
        } else {
            normal
        }
    }

    fn display(
        &self,
        ret: &Value,
        indent: usize,
        prefix: &str,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        match ret {
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {
                out.push(self.ustring(indent, self.c.light_yellow, &pyrepr::repr(ret), prefix, ""));
            }
            Value::Str(s) => self.display_str(s, indent, prefix, out),
            Value::Bytes(b) => {
                if let Ok(s) = std::str::from_utf8(b) {
                    self.display_str(s, indent, prefix, out);
                }
            }
            Value::List(l) => {
                let color = self.structure_color(self.c.green);
                for ind in l {
                    match ind {
                        Value::List(_) | Value::Map(_) => {
                            out.push(self.ustring(indent, color, "|_", "", ""));
                            let p = if matches!(ind, Value::Map(_)) {
                                ""
                            } else {
                                "- "
                            };
                            self.display(ind, indent + 2, p, depth + 1, out);
                        }
                        other => self.display(other, indent, "- ", depth + 1, out),
                    }
                }
            }
            Value::Map(m) => {
                let color = self.structure_color(self.c.cyan);
                if indent > 0 {
                    out.push(self.ustring(indent, color, "----------", "", ""));
                }
                let items: Vec<(Value, &Value)> = if self.opts.sort.sorts(depth, m) {
                    sorted_items(m)
                } else {
                    m.iter().map(|(k, v)| (k.clone(), v)).collect()
                };
                for (k, v) in items {
                    out.push(self.ustring(indent, color, &pyrepr::str_of(&k), prefix, ":"));
                    self.display(v, indent + 4, "", depth + 1, out);
                }
            }
        }
    }

    fn display_str(&self, s: &str, indent: usize, prefix: &str, out: &mut Vec<String>) {
        let pad = " ".repeat(prefix.chars().count());
        for (i, line) in splitlines(s).into_iter().enumerate() {
            let p = if i == 0 { prefix } else { pad.as_str() };
            // strip_colors: ESC becomes '?'.
            let line = line.replace('\u{1b}', "?");
            out.push(self.ustring(indent, self.c.green, &line, p, ""));
        }
    }
}
