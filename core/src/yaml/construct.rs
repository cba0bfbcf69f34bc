//! Salt's YAML constructor (`SaltYamlSafeLoader` over PyYAML's
//! `SafeConstructor`), applied to a composed node graph.
//!
//! Construction follows PyYAML's order exactly, because it decides which
//! error is reported first: collections are created empty and filled later by
//! "state generators", level by level (`construct_document`). Salt's pieces:
//! `flatten_mapping` puts merged (`<<`) keys first and drops those the mapping
//! defines itself; `construct_mapping` rejects unhashable and duplicate keys
//! ("found conflicting ID") with Python equality (`1 == True`);
//! `construct_scalar` strips leading zeros from unsigned ints (`0644` is 644);
//! timestamps stay strings; `!!omap` builds a mapping.
//!
//! Differences from Python, forced by [`Value`]: integers beyond `i128` load
//! as their source text (a string); `!!set` loads as a mapping to nulls;
//! `!!pairs` as a list of two-item lists; a collection containing itself
//! through an alias is an error; alias expansion is capped at
//! [`MAX_VALUES`] values (Python shares objects instead of copying).

use super::compose::{Graph, Node, NodeId, NodeKind};
use super::events::{Mark, Marked};
use super::resolve::*;
use super::{YamlError, YamlErrorKind};
use crate::value::{py_float_repr, Map, Value};
use indexmap::IndexMap;

/// The most values a document may expand to through aliases.
pub(crate) const MAX_VALUES: usize = 5_000_000;

/// A constructed object; collections refer to their children by node.
#[derive(Debug, Clone)]
enum Obj {
    Scalar(Value),
    List(Vec<NodeId>),
    Map(Vec<(Value, NodeId)>),
    Set(Vec<Value>),
    Pairs(Vec<(NodeId, NodeId)>),
}

#[derive(Debug, Clone, Copy)]
enum Gen {
    Seq,
    Map,
    Set,
    Pairs(&'static str),
}

struct Constructor {
    nodes: Vec<Node>,
    objs: Vec<Option<Obj>>,
    state_generators: Vec<(NodeId, Gen)>,
}

const WHILE_MAPPING: &str = "while constructing a mapping";

fn cerr(context: Option<(&str, Mark)>, problem: impl Into<String>, mark: Mark) -> YamlError {
    Marked::new(
        YamlErrorKind::Constructor,
        context.map(|c| c.0),
        context.map(|c| c.1),
        problem,
        Some(mark),
    )
    .into_error()
}

/// A Python exception that is not a YAMLError (Salt shows a traceback).
fn other(problem: impl Into<String>, mark: Mark) -> YamlError {
    let problem = problem.into();
    YamlError {
        line: mark.line + 1,
        column: mark.column + 1,
        message: problem.clone(),
        kind: YamlErrorKind::Other,
        problem,
    }
}

/// Build the document's value (`BaseConstructor.construct_document`).
pub(crate) fn construct_document(graph: Graph) -> Result<Value, YamlError> {
    let n = graph.nodes.len();
    let mut c = Constructor {
        nodes: graph.nodes,
        objs: vec![None; n],
        state_generators: Vec::new(),
    };
    c.construct_object_ref(graph.root)?;
    while !c.state_generators.is_empty() {
        let gens = std::mem::take(&mut c.state_generators);
        for (id, g) in gens {
            c.run_generator(id, g)?;
        }
    }
    // How many places refer to each object: one referenced once, from a
    // parent that is itself referenced once (up to the root), is moved out
    // instead of copied.
    let mut refs = vec![0u32; n];
    refs[graph.root] += 1;
    for obj in c.objs.iter().flatten() {
        match obj {
            Obj::List(items) => items.iter().for_each(|&i| refs[i] += 1),
            Obj::Map(pairs) => pairs.iter().for_each(|&(_, v)| refs[v] += 1),
            Obj::Pairs(pairs) => pairs.iter().for_each(|&(k, v)| {
                refs[k] += 1;
                refs[v] += 1;
            }),
            Obj::Scalar(_) | Obj::Set(_) => {}
        }
    }
    let mut budget = 0usize;
    let mut active = vec![false; n];
    c.materialize(graph.root, true, &refs, &mut budget, &mut active)
}

impl Constructor {
    fn scalar_value(&self, id: NodeId) -> Result<&str, YamlError> {
        let node = &self.nodes[id];
        match &node.kind {
            NodeKind::Scalar { value, .. } => Ok(value),
            _ => Err(cerr(
                None,
                format!("expected a scalar node, but found {}", node.id_name()),
                node.start,
            )),
        }
    }

    /// `construct_object`: `Ok(Some(v))` for a hashable result (usable as a
    /// key), `Ok(None)` for a collection.
    fn construct_object(&mut self, id: NodeId) -> Result<Option<Value>, YamlError> {
        self.construct_object_ref(id)?;
        Ok(match &self.objs[id] {
            Some(Obj::Scalar(v)) => Some(v.clone()),
            _ => None,
        })
    }

    /// [`Self::construct_object`] without handing back a copy of the value
    /// (for values, which are read from `objs` later).
    fn construct_object_ref(&mut self, id: NodeId) -> Result<(), YamlError> {
        if self.objs[id].is_some() {
            return Ok(());
        }
        let start = self.nodes[id].start;
        let gen = match self.nodes[id].tag.as_str() {
            TAG_SEQ => Some((Gen::Seq, Obj::List(Vec::new()))),
            TAG_MAP | TAG_OMAP => Some((Gen::Map, Obj::Map(Vec::new()))),
            TAG_SET => Some((Gen::Set, Obj::Set(Vec::new()))),
            TAG_PAIRS => Some((
                Gen::Pairs("while constructing pairs"),
                Obj::Pairs(Vec::new()),
            )),
            _ => None,
        };
        if let Some((g, placeholder)) = gen {
            self.objs[id] = Some(placeholder);
            self.state_generators.push((id, g));
            return Ok(());
        }
        let value = match self.nodes[id].tag.as_str() {
            TAG_NULL => {
                self.scalar_value(id)?;
                Value::Null
            }
            TAG_BOOL => {
                let v = self.scalar_value(id)?;
                match v.to_lowercase().as_str() {
                    "yes" | "true" | "on" => Value::Bool(true),
                    "no" | "false" | "off" => Value::Bool(false),
                    other_v => return Err(other(format!("KeyError: {}", py_repr(other_v)), start)),
                }
            }
            TAG_INT => {
                let v = match &self.nodes[id].kind {
                    NodeKind::Scalar { value, .. } => value.clone(),
                    _ => {
                        return Err(other(
                            "AttributeError: 'list' object has no attribute 'startswith'",
                            start,
                        ))
                    }
                };
                construct_int(&v, start)?
            }
            TAG_FLOAT => {
                let v = self.scalar_value(id)?.to_string();
                construct_float(&v, start)?
            }
            TAG_BINARY => {
                let v = self.scalar_value(id)?;
                if let Some((pos, bad)) = v.chars().enumerate().find(|(_, c)| !c.is_ascii()) {
                    let c = bad as u32;
                    let esc = if c < 0x100 {
                        format!("\\x{c:02x}")
                    } else if c < 0x10000 {
                        format!("\\u{c:04x}")
                    } else {
                        format!("\\U{c:08x}")
                    };
                    return Err(cerr(
                        None,
                        format!(
                            "failed to convert base64 data into ascii: 'ascii' codec can't encode character '{esc}' in position {pos}: ordinal not in range(128)"
                        ),
                        start,
                    ));
                }
                match a2b_base64(v.as_bytes()) {
                    Ok(b) => Value::Bytes(b),
                    Err(e) => {
                        return Err(cerr(
                            None,
                            format!("failed to decode base64 data: {e}"),
                            start,
                        ))
                    }
                }
            }
            TAG_STR | TAG_TIMESTAMP => Value::Str(self.scalar_value(id)?.to_string()),
            TAG_PY_UNICODE => match &self.nodes[id].kind {
                NodeKind::Scalar { value, .. } => Value::Str(value.clone()),
                _ => {
                    return Err(other(
                        "python/unicode on a collection is not supported",
                        start,
                    ))
                }
            },
            _ => {
                return Err(cerr(
                    None,
                    format!(
                        "could not determine a constructor for the tag {}",
                        py_repr(&self.nodes[id].tag)
                    ),
                    start,
                ))
            }
        };
        self.objs[id] = Some(Obj::Scalar(value));
        Ok(())
    }

    /// The part of a collection constructor after its `yield`.
    fn run_generator(&mut self, id: NodeId, g: Gen) -> Result<(), YamlError> {
        let obj = match g {
            Gen::Seq => {
                let node = &self.nodes[id];
                let items = match &node.kind {
                    NodeKind::Sequence(items) => items.clone(),
                    _ => {
                        return Err(cerr(
                            None,
                            format!("expected a sequence node, but found {}", node.id_name()),
                            node.start,
                        ))
                    }
                };
                for &child in &items {
                    self.construct_object_ref(child)?;
                }
                Obj::List(items)
            }
            Gen::Map => Obj::Map(self.construct_mapping(id)?),
            Gen::Set => Obj::Set(
                self.construct_mapping(id)?
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect(),
            ),
            Gen::Pairs(context) => Obj::Pairs(self.construct_pairs(id, context)?),
        };
        self.objs[id] = Some(obj);
        Ok(())
    }

    /// `construct_yaml_pairs` (and `construct_yaml_omap`, the same code).
    fn construct_pairs(
        &mut self,
        id: NodeId,
        context: &'static str,
    ) -> Result<Vec<(NodeId, NodeId)>, YamlError> {
        let ctx = Some((context, self.nodes[id].start));
        let items = match &self.nodes[id].kind {
            NodeKind::Sequence(items) => items.clone(),
            _ => {
                return Err(cerr(
                    ctx,
                    format!(
                        "expected a sequence, but found {}",
                        self.nodes[id].id_name()
                    ),
                    self.nodes[id].start,
                ))
            }
        };
        let mut out = Vec::new();
        for sub in items {
            let subnode = &self.nodes[sub];
            let pair = match &subnode.kind {
                NodeKind::Mapping(p) if p.len() == 1 => p[0],
                NodeKind::Mapping(p) => {
                    return Err(cerr(
                        ctx,
                        format!(
                            "expected a single mapping item, but found {} items",
                            p.len()
                        ),
                        subnode.start,
                    ))
                }
                _ => {
                    return Err(cerr(
                        ctx,
                        format!(
                            "expected a mapping of length 1, but found {}",
                            subnode.id_name()
                        ),
                        subnode.start,
                    ))
                }
            };
            self.construct_object_ref(pair.0)?;
            self.construct_object_ref(pair.1)?;
            out.push(pair);
        }
        Ok(out)
    }

    /// Salt's `construct_mapping`.
    fn construct_mapping(&mut self, id: NodeId) -> Result<Vec<(Value, NodeId)>, YamlError> {
        let start = self.nodes[id].start;
        if !matches!(self.nodes[id].kind, NodeKind::Mapping(_)) {
            return Err(cerr(
                None,
                format!(
                    "expected a mapping node, but found {}",
                    self.nodes[id].id_name()
                ),
                start,
            ));
        }
        self.flatten_mapping(id)?;
        let pairs = match &self.nodes[id].kind {
            NodeKind::Mapping(p) => p.clone(),
            _ => Vec::new(),
        };
        let ctx = Some((WHILE_MAPPING, start));
        let mut mapping: IndexMap<Value, NodeId, crate::value::MapHasher> =
            IndexMap::with_capacity_and_hasher(pairs.len(), Default::default());
        let mut seen_shared_nan = false;
        for (k, v) in pairs {
            let key = match self.construct_object(k)? {
                Some(key) => key,
                None => {
                    return Err(cerr(
                        ctx,
                        format!("found unacceptable key {}", self.node_value_str(k)),
                        self.nodes[k].start,
                    ))
                }
            };
            self.construct_object_ref(v)?;
            // PyYAML returns one shared object for `.nan`, and Python's `in`
            // checks identity first: two `.nan` keys collide.
            let shared_nan = self.is_shared_nan(k);
            if mapping.contains_key(&key) || (shared_nan && seen_shared_nan) {
                return Err(cerr(
                    ctx,
                    format!("found conflicting ID '{}'", py_str(&key)),
                    self.nodes[k].start,
                ));
            }
            seen_shared_nan |= shared_nan;
            mapping.insert(key, v);
        }
        Ok(mapping.into_iter().collect())
    }

    /// Whether `construct_yaml_float` returns its shared `nan_value` for
    /// this node (`.nan` in any case, with an optional sign).
    fn is_shared_nan(&self, id: NodeId) -> bool {
        match &self.nodes[id].kind {
            NodeKind::Scalar { value, .. } if self.nodes[id].tag == TAG_FLOAT => {
                let v = value.replace('_', "").to_lowercase();
                let v = v.strip_prefix(['-', '+']).unwrap_or(&v);
                v == ".nan"
            }
            _ => false,
        }
    }

    fn pairs_of(&self, id: NodeId) -> Vec<(NodeId, NodeId)> {
        match &self.nodes[id].kind {
            NodeKind::Mapping(p) => p.clone(),
            _ => Vec::new(),
        }
    }

    /// Salt's `flatten_mapping`: mutates the node in place, as Python does.
    fn flatten_mapping(&mut self, id: NodeId) -> Result<(), YamlError> {
        let mut merge: Vec<(NodeId, NodeId)> = Vec::new();
        let mut index = 0;
        loop {
            let (k, v) = match &self.nodes[id].kind {
                NodeKind::Mapping(p) if index < p.len() => p[index],
                _ => break,
            };
            if self.nodes[k].tag == TAG_MERGE {
                if let NodeKind::Mapping(p) = &mut self.nodes[id].kind {
                    p.remove(index);
                }
                match &self.nodes[v].kind {
                    NodeKind::Mapping(_) => {
                        self.flatten_mapping(v)?;
                        merge.extend(self.pairs_of(v));
                    }
                    NodeKind::Sequence(subs) => {
                        let subs = subs.clone();
                        let mut submerge = Vec::new();
                        for sub in subs {
                            if !matches!(self.nodes[sub].kind, NodeKind::Mapping(_)) {
                                return Err(cerr(
                                    Some((WHILE_MAPPING, self.nodes[id].start)),
                                    format!(
                                        "expected a mapping for merging, but found {}",
                                        self.nodes[sub].id_name()
                                    ),
                                    self.nodes[sub].start,
                                ));
                            }
                            self.flatten_mapping(sub)?;
                            submerge.push(self.pairs_of(sub));
                        }
                        for value in submerge.into_iter().rev() {
                            merge.extend(value);
                        }
                    }
                    NodeKind::Scalar { .. } => {
                        return Err(cerr(
                            Some((WHILE_MAPPING, self.nodes[id].start)),
                            format!(
                                "expected a mapping or list of mappings for merging, but found {}",
                                self.nodes[v].id_name()
                            ),
                            self.nodes[v].start,
                        ));
                    }
                }
            } else if self.nodes[k].tag == TAG_VALUE {
                self.nodes[k].tag = TAG_STR.to_string();
                index += 1;
            } else {
                index += 1;
            }
        }
        if !merge.is_empty() {
            let own = self.pairs_of(id);
            let mut new: Vec<(NodeId, NodeId)> = merge
                .into_iter()
                .filter(|(mk, _)| !own.iter().any(|(ok, _)| self.raw_eq(*mk, *ok)))
                .collect();
            new.extend(own);
            self.nodes[id].kind = NodeKind::Mapping(new);
        }
        Ok(())
    }

    /// Python `==` between two nodes' `.value` (str, list of nodes, or list
    /// of node pairs; nodes themselves compare by identity).
    fn raw_eq(&self, a: NodeId, b: NodeId) -> bool {
        match (&self.nodes[a].kind, &self.nodes[b].kind) {
            (NodeKind::Scalar { value: x, .. }, NodeKind::Scalar { value: y, .. }) => x == y,
            (NodeKind::Sequence(x), NodeKind::Sequence(y)) => x == y,
            (NodeKind::Mapping(x), NodeKind::Mapping(y)) => x == y,
            // An empty sequence and an empty mapping both hold `[]`.
            (NodeKind::Sequence(x), NodeKind::Mapping(y))
            | (NodeKind::Mapping(y), NodeKind::Sequence(x)) => x.is_empty() && y.is_empty(),
            _ => false,
        }
    }

    /// `str(node.value)` as in Salt's "found unacceptable key" message.
    fn node_value_str(&self, id: NodeId) -> String {
        match &self.nodes[id].kind {
            NodeKind::Scalar { value, .. } => value.clone(),
            _ => self.node_value_repr(id, 0),
        }
    }

    fn node_value_repr(&self, id: NodeId, depth: usize) -> String {
        if depth > 50 {
            return "[...]".into();
        }
        match &self.nodes[id].kind {
            NodeKind::Scalar { value, .. } => py_repr(value),
            NodeKind::Sequence(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|&i| self.node_repr(i, depth + 1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            NodeKind::Mapping(pairs) => format!(
                "[{}]",
                pairs
                    .iter()
                    .map(|&(k, v)| format!(
                        "({}, {})",
                        self.node_repr(k, depth + 1),
                        self.node_repr(v, depth + 1)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn node_repr(&self, id: NodeId, depth: usize) -> String {
        let class = match self.nodes[id].kind {
            NodeKind::Scalar { .. } => "ScalarNode",
            NodeKind::Sequence(_) => "SequenceNode",
            NodeKind::Mapping(_) => "MappingNode",
        };
        format!(
            "{class}(tag={}, value={})",
            py_repr(&self.nodes[id].tag),
            self.node_value_repr(id, depth)
        )
    }

    fn materialize(
        &mut self,
        id: NodeId,
        owned: bool,
        refs: &[u32],
        budget: &mut usize,
        active: &mut Vec<bool>,
    ) -> Result<Value, YamlError> {
        *budget += 1;
        if *budget > MAX_VALUES {
            return Err(cerr(
                None,
                format!("document expands to more than {MAX_VALUES} values through aliases"),
                self.nodes[id].start,
            ));
        }
        let owned = owned && refs[id] == 1;
        if owned {
            // Nothing else refers to this object: move it out.
            let out = match self.objs[id].take() {
                None => Value::Null,
                Some(Obj::Scalar(v)) => v,
                Some(Obj::List(items)) => {
                    let mut l = Vec::with_capacity(items.len());
                    for i in items {
                        l.push(self.materialize(i, true, refs, budget, active)?);
                    }
                    Value::List(l)
                }
                Some(Obj::Map(pairs)) => {
                    let mut m = Map::with_capacity_and_hasher(pairs.len(), Default::default());
                    for (k, v) in pairs {
                        let v = self.materialize(v, true, refs, budget, active)?;
                        m.insert(k, v);
                    }
                    Value::Map(m)
                }
                Some(Obj::Set(keys)) => {
                    Value::Map(keys.into_iter().map(|k| (k, Value::Null)).collect())
                }
                Some(Obj::Pairs(pairs)) => {
                    let mut l = Vec::with_capacity(pairs.len());
                    for (k, v) in pairs {
                        l.push(Value::List(vec![
                            self.materialize(k, true, refs, budget, active)?,
                            self.materialize(v, true, refs, budget, active)?,
                        ]));
                    }
                    Value::List(l)
                }
            };
            return Ok(out);
        }
        let obj = match &self.objs[id] {
            Some(o) => o,
            None => return Ok(Value::Null),
        };
        if let Obj::Scalar(v) = obj {
            return Ok(v.clone());
        }
        if active[id] {
            return Err(cerr(
                None,
                "found a recursive alias (a collection that contains itself), which cannot be represented",
                self.nodes[id].start,
            ));
        }
        active[id] = true;
        // Shared (aliased) objects are copied, as often as they are used.
        let out = match obj.clone() {
            Obj::Scalar(v) => v,
            Obj::List(items) => {
                let mut l = Vec::with_capacity(items.len());
                for i in items {
                    l.push(self.materialize(i, false, refs, budget, active)?);
                }
                Value::List(l)
            }
            Obj::Map(pairs) => {
                let mut m = Map::with_capacity_and_hasher(pairs.len(), Default::default());
                for (k, v) in pairs {
                    let v = self.materialize(v, false, refs, budget, active)?;
                    m.insert(k, v);
                }
                Value::Map(m)
            }
            Obj::Set(keys) => Value::Map(keys.into_iter().map(|k| (k, Value::Null)).collect()),
            Obj::Pairs(pairs) => {
                let mut l = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    l.push(Value::List(vec![
                        self.materialize(k, false, refs, budget, active)?,
                        self.materialize(v, false, refs, budget, active)?,
                    ]));
                }
                Value::List(l)
            }
        };
        active[id] = false;
        Ok(out)
    }
}

/// Python's `int(s, base)` for ASCII digits; `Err(None)` on overflow of i128,
/// `Err(Some(msg))` on a ValueError.
fn py_int(s: &str, base: u32) -> Result<i128, Option<String>> {
    let bad = || {
        Some(format!(
            "invalid literal for int() with base {base}: {}",
            py_repr(s)
        ))
    };
    let t = s.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let prefix = match base {
        2 => ["0b", "0B"],
        8 => ["0o", "0O"],
        16 => ["0x", "0X"],
        _ => ["", ""],
    };
    let t = if base != 10 {
        prefix.iter().find_map(|p| t.strip_prefix(p)).unwrap_or(t)
    } else {
        t
    };
    if t.is_empty() {
        return Err(bad());
    }
    let mut acc: i128 = 0;
    for c in t.chars() {
        let d = c.to_digit(base).ok_or_else(bad)? as i128;
        acc = acc
            .checked_mul(base as i128)
            .and_then(|a| a.checked_add(d))
            .ok_or(None)?;
    }
    Ok(if neg { -acc } else { acc })
}

/// Salt's `construct_scalar` leading-zero hack, then PyYAML's
/// `construct_yaml_int`.
fn construct_int(raw: &str, mark: Mark) -> Result<Value, YamlError> {
    let mut value = raw.to_string();
    if value != "0"
        && value.starts_with('0')
        && !value.starts_with("0b")
        && !value.starts_with("0x")
    {
        value = value.trim_start_matches('0').to_string();
        if value.is_empty() {
            value = "0".into();
        }
    }
    let mut value = value.replace('_', "");
    let first = match value.chars().next() {
        Some(c) => c,
        None => return Err(other("IndexError: string index out of range", mark)),
    };
    let sign: i128 = if first == '-' { -1 } else { 1 };
    if first == '-' || first == '+' {
        value.remove(0);
    }
    let parsed = if value == "0" {
        Ok(0)
    } else if let Some(rest) = value.strip_prefix("0b") {
        py_int(rest, 2)
    } else if let Some(rest) = value.strip_prefix("0x") {
        py_int(rest, 16)
    } else if value.starts_with('0') {
        py_int(&value, 8)
    } else if value.contains(':') {
        let mut total: Result<i128, Option<String>> = Ok(0);
        let mut base: i128 = 1;
        for part in value.split(':').rev() {
            let d = py_int(part, 10);
            total = match (total, d) {
                (Ok(t), Ok(d)) => d
                    .checked_mul(base)
                    .and_then(|x| x.checked_add(t))
                    .ok_or(None),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            base = base.saturating_mul(60);
        }
        total
    } else {
        py_int(&value, 10)
    };
    match parsed {
        Ok(i) => Ok(Value::Int(sign * i)),
        // Beyond i128: keep the digits as written (documented difference).
        Err(None) => Ok(Value::Str(raw.to_string())),
        Err(Some(msg)) => Err(other(format!("ValueError: {msg}"), mark)),
    }
}

fn py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.contains(|c: char| !c.is_ascii()) {
        return None;
    }
    t.parse::<f64>().ok()
}

/// PyYAML's `construct_yaml_float`.
fn construct_float(raw: &str, mark: Mark) -> Result<Value, YamlError> {
    let mut value = raw.replace('_', "").to_lowercase();
    let first = match value.chars().next() {
        Some(c) => c,
        None => return Err(other("IndexError: string index out of range", mark)),
    };
    let sign = if first == '-' { -1.0 } else { 1.0 };
    if first == '-' || first == '+' {
        value.remove(0);
    }
    let bad = |v: &str| {
        other(
            format!(
                "ValueError: could not convert string to float: {}",
                py_repr(v)
            ),
            mark,
        )
    };
    if value == ".inf" {
        return Ok(Value::Float(sign * f64::INFINITY));
    }
    if value == ".nan" {
        return Ok(Value::Float(f64::NAN));
    }
    if value.contains(':') {
        let mut total = 0.0f64;
        let mut base = 1.0f64;
        for part in value.split(':').rev() {
            let d = py_float(part).ok_or_else(|| bad(part))?;
            total += d * base;
            base *= 60.0;
        }
        return Ok(Value::Float(sign * total));
    }
    let f = py_float(&value).ok_or_else(|| bad(&value))?;
    Ok(Value::Float(sign * f))
}

/// CPython's non-strict `binascii.a2b_base64` (what `base64.decodebytes`
/// uses): characters outside the alphabet are skipped.
fn a2b_base64(data: &[u8]) -> Result<Vec<u8>, String> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a') as u32 + 26),
            b'0'..=b'9' => Some((c - b'0') as u32 + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::new();
    let mut quad_pos = 0;
    let mut left: u32 = 0;
    let mut pads = 0;
    let mut count = 0usize;
    for &c in data {
        if c == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let v = match val(c) {
            Some(v) => v,
            None => continue,
        };
        count += 1;
        pads = 0;
        match quad_pos {
            0 => {
                quad_pos = 1;
                left = v;
            }
            1 => {
                quad_pos = 2;
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0x0f;
            }
            2 => {
                quad_pos = 3;
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x03;
            }
            _ => {
                quad_pos = 0;
                out.push(((left << 6) | v) as u8);
                left = 0;
            }
        }
    }
    match quad_pos {
        0 => Ok(out),
        1 => Err(format!(
            "Invalid base64-encoded string: number of data characters ({count}) cannot be 1 more than a multiple of 4"
        )),
        _ => Err("Incorrect padding".into()),
    }
}

/// Python's `str()` of a scalar key.
pub(crate) fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => py_float_repr(*f),
        Value::Str(s) => s.clone(),
        Value::Bytes(b) => py_bytes_repr(b),
        other => format!("{other:?}"),
    }
}

fn py_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = format!("b{quote}");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}

/// Whether Python's `str.isprintable()` holds for `c` (approximated
/// without Unicode tables: controls and separators other than space are not).
fn py_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{a0}' | '\u{ad}' | '\u{1680}' | '\u{3000}' | '\u{feff}'
        )
        || ('\u{2000}'..='\u{200f}').contains(&c)
        || ('\u{2028}'..='\u{202f}').contains(&c)
        || ('\u{205f}'..='\u{206f}').contains(&c)
        || ('\u{e000}'..='\u{f8ff}').contains(&c))
}

/// Python's `repr()` of a str.
pub(crate) fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if py_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}
