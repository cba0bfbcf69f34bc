//! YAML dumping as Salt's `salt.utils.yaml.safe_dump` does it.
//!
//! Salt dumps with `SafeOrderedDumper`, i.e. PyYAML's `CSafeDumper`: PyYAML's
//! Python `SafeRepresenter` builds nodes (choosing flow style, sorting keys,
//! formatting floats), and libyaml's emitter writes them, choosing scalar
//! styles and folding at the line width. We build the same nodes and feed the
//! same events to the same emitter (`unsafe-libyaml-norway`), as `CEmitter`
//! in PyYAML's `_yaml.pyx` does.
//!
//! Python dicts are sorted by key (`sort_keys=True`), `OrderedDict`s (SLS
//! data) are not: [`DumpConfig::sort_keys`] says which applies. Values never
//! share identity here, so no anchors/aliases are emitted.

use super::resolve::{
    resolve_plain, TAG_BINARY, TAG_BOOL, TAG_FLOAT, TAG_INT, TAG_MAP, TAG_NULL, TAG_SEQ, TAG_STR,
};
use crate::value::{py_float_repr, Value};
use std::cmp::Ordering;
use std::ffi::CString;
use std::mem::MaybeUninit;
use unsafe_libyaml_norway as unsafe_yaml;

/// How to dump (the original stub's options): `safe_dump(value,
/// default_flow_style=...)` with keys sorted. See [`DumpConfig`] for all of
/// `yaml.dump`'s options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// PyYAML's `default_flow_style` (`True`/`False`).
    pub default_flow_style: bool,
}

impl From<DumpOptions> for DumpConfig {
    fn from(o: DumpOptions) -> DumpConfig {
        DumpConfig {
            default_flow_style: Some(o.default_flow_style),
            ..DumpConfig::default()
        }
    }
}

/// How to dump; mirrors `yaml.dump` keyword arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpConfig {
    /// PyYAML's `default_flow_style`: `Some(true)` all flow, `Some(false)`
    /// all block, `None` (Salt's `safe_dump` default) flow only for
    /// collections holding nothing but plain scalars.
    pub default_flow_style: Option<bool>,
    /// Sort mapping keys (`sort_keys=True`, PyYAML's default, applies to
    /// Python dicts; Salt's `OrderedDict`s keep their order: use `false`).
    pub sort_keys: bool,
    /// `indent=` (libyaml uses 2 unless 2..=9).
    pub indent: Option<i32>,
    /// `width=` (80 by default; negative means unlimited).
    pub width: Option<i32>,
    /// `allow_unicode=` (Salt's `safe_dump` sets it to True).
    pub allow_unicode: bool,
    /// `explicit_start=` (`---`).
    pub explicit_start: bool,
    /// `explicit_end=` (`...`).
    pub explicit_end: bool,
}

impl Default for DumpConfig {
    /// `salt.utils.yaml.safe_dump(data)` of a plain dict.
    fn default() -> Self {
        DumpConfig {
            default_flow_style: None,
            sort_keys: true,
            indent: None,
            width: None,
            allow_unicode: true,
            explicit_start: false,
            explicit_end: false,
        }
    }
}

impl DumpConfig {
    /// `salt.utils.yaml.safe_dump(data)`.
    pub fn safe_dump() -> Self {
        Self::default()
    }

    /// The `yaml` outputter (`salt/output/yaml_out.py`) for a given
    /// `output_indent` option (`None` when unset).
    pub fn yaml_out(output_indent: Option<i64>) -> Self {
        let mut o = Self::default();
        match output_indent {
            None => o.default_flow_style = Some(false),
            Some(i) if i >= 0 => {
                o.default_flow_style = Some(false);
                o.indent = Some(i.clamp(0, i32::MAX as i64) as i32);
            }
            Some(_) => {
                o.default_flow_style = Some(true);
                o.indent = Some(0);
            }
        }
        o
    }

    /// Builder: set `sort_keys`.
    pub fn sort_keys(mut self, sort: bool) -> Self {
        self.sort_keys = sort;
        self
    }
}

/// Salt's Jinja `yaml` filter (`format_yaml` in `salt/utils/jinja.py`):
/// `safe_dump(value, default_flow_style=flow_style).strip()` without a
/// trailing `\n...`.
pub fn format_yaml(value: &Value, flow_style: Option<bool>, sort_keys: bool) -> String {
    let cfg = DumpConfig {
        default_flow_style: flow_style,
        sort_keys,
        ..DumpConfig::default()
    };
    let text = dump_with(value, &cfg);
    let text = text.trim();
    text.strip_suffix("\n...").unwrap_or(text).to_string()
}

/// A representer node (PyYAML's `ScalarNode`/`SequenceNode`/`MappingNode`).
enum RNode {
    Scalar {
        tag: &'static str,
        value: String,
        /// `Some('|')` for binary; PyYAML's `style=None` otherwise.
        literal: bool,
    },
    Seq {
        items: Vec<RNode>,
        flow: bool,
    },
    Map {
        pairs: Vec<(RNode, RNode)>,
        flow: bool,
    },
}

impl RNode {
    fn plain_scalar(&self) -> bool {
        matches!(self, RNode::Scalar { literal: false, .. })
    }
}

/// `SafeRepresenter.represent_float`.
pub(crate) fn float_text(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f == f64::INFINITY {
        ".inf".into()
    } else if f == f64::NEG_INFINITY {
        "-.inf".into()
    } else {
        let v = py_float_repr(f).to_lowercase();
        if !v.contains('.') && v.contains('e') {
            v.replacen('e', ".0e", 1)
        } else {
            v
        }
    }
}

/// `base64.encodebytes`: 76-character lines, each ending in a newline.
pub(crate) fn encodebytes(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in b.chunks(57) {
        for g in chunk.chunks(3) {
            let n = (g[0] as u32) << 16
                | (*g.get(1).unwrap_or(&0) as u32) << 8
                | *g.get(2).unwrap_or(&0) as u32;
            out.push(T[(n >> 18) as usize & 63] as char);
            out.push(T[(n >> 12) as usize & 63] as char);
            out.push(if g.len() > 1 {
                T[(n >> 6) as usize & 63] as char
            } else {
                '='
            });
            out.push(if g.len() > 2 {
                T[n as usize & 63] as char
            } else {
                '='
            });
        }
        out.push('\n');
    }
    out
}

/// The tag and text `SafeRepresenter` gives a scalar value, `None` for
/// collections.
pub(crate) fn represent_scalar(v: &Value) -> Option<(&'static str, String)> {
    Some(match v {
        Value::Null => (TAG_NULL, "null".into()),
        Value::Bool(b) => (TAG_BOOL, if *b { "true" } else { "false" }.into()),
        Value::Int(i) => (TAG_INT, i.to_string()),
        Value::Float(f) => (TAG_FLOAT, float_text(*f)),
        Value::Str(s) => (TAG_STR, s.clone()),
        Value::Bytes(b) => (TAG_BINARY, encodebytes(b)),
        Value::List(_) | Value::Map(_) => return None,
    })
}

/// Python's `sorted()` of dict items: `None` when the keys cannot be
/// compared (TypeError, in which case PyYAML keeps the original order).
fn py_key_order(a: &Value, b: &Value) -> Option<Ordering> {
    let num = |v: &Value| match v {
        Value::Bool(b) => Some(*b as i128 as f64),
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => Some(x.partial_cmp(&y).unwrap_or(Ordering::Equal)),
            _ => None,
        },
    }
}

fn represent(v: &Value, opts: &DumpConfig) -> RNode {
    match v {
        Value::List(l) => {
            let items: Vec<RNode> = l.iter().map(|x| represent(x, opts)).collect();
            let best = items.iter().all(RNode::plain_scalar);
            RNode::Seq {
                flow: opts.default_flow_style.unwrap_or(best),
                items,
            }
        }
        Value::Map(m) => {
            let mut entries: Vec<(&Value, &Value)> = m.iter().collect();
            if opts.sort_keys && entries.len() > 1 {
                let comparable = entries
                    .windows(2)
                    .all(|w| py_key_order(w[0].0, w[1].0).is_some())
                    && py_key_order(entries[0].0, entries[entries.len() - 1].0).is_some();
                if comparable {
                    entries.sort_by(|a, b| py_key_order(a.0, b.0).unwrap_or(Ordering::Equal));
                }
            }
            let pairs: Vec<(RNode, RNode)> = entries
                .into_iter()
                .map(|(k, x)| (represent(k, opts), represent(x, opts)))
                .collect();
            let best = pairs
                .iter()
                .all(|(k, x)| k.plain_scalar() && x.plain_scalar());
            RNode::Map {
                flow: opts.default_flow_style.unwrap_or(best),
                pairs,
            }
        }
        other => {
            // Every non-collection has a scalar form.
            let (tag, value) = represent_scalar(other).unwrap_or((TAG_NULL, "null".into()));
            RNode::Scalar {
                tag,
                value,
                literal: tag == TAG_BINARY,
            }
        }
    }
}

struct Emitter {
    raw: Box<MaybeUninit<unsafe_yaml::yaml_emitter_t>>,
    /// Boxed so the write handler's pointer survives moves of `Emitter`.
    #[allow(clippy::box_collection)]
    out: Box<Vec<u8>>,
    failed: bool,
}

unsafe fn write_handler(data: *mut std::ffi::c_void, buffer: *mut u8, size: u64) -> i32 {
    let out = &mut *(data as *mut Vec<u8>);
    out.extend_from_slice(std::slice::from_raw_parts(buffer, size as usize));
    1
}

fn cstring(s: &str) -> CString {
    // Tags are constants without NULs.
    CString::new(s).unwrap_or_default()
}

impl Emitter {
    fn new(opts: &DumpConfig) -> Emitter {
        let mut raw: Box<MaybeUninit<unsafe_yaml::yaml_emitter_t>> =
            Box::new(MaybeUninit::uninit());
        let mut out: Box<Vec<u8>> = Box::default();
        let mut failed = false;
        // SAFETY: the emitter is initialised before use; `out` is boxed so its
        // address stays valid for the emitter's life (both dropped together).
        unsafe {
            let e = raw.as_mut_ptr();
            if unsafe_yaml::yaml_emitter_initialize(e).fail {
                failed = true;
            } else {
                unsafe_yaml::yaml_emitter_set_output(
                    e,
                    write_handler,
                    &mut *out as *mut Vec<u8> as *mut std::ffi::c_void,
                );
                if let Some(i) = opts.indent {
                    unsafe_yaml::yaml_emitter_set_indent(e, i);
                }
                if let Some(w) = opts.width {
                    unsafe_yaml::yaml_emitter_set_width(e, w);
                }
                if opts.allow_unicode {
                    unsafe_yaml::yaml_emitter_set_unicode(e, true);
                }
            }
        }
        Emitter { raw, out, failed }
    }

    fn emit(&mut self, make: impl FnOnce(*mut unsafe_yaml::yaml_event_t) -> bool) {
        if self.failed {
            return;
        }
        let mut ev = MaybeUninit::<unsafe_yaml::yaml_event_t>::uninit();
        if !make(ev.as_mut_ptr()) {
            self.failed = true;
            return;
        }
        // SAFETY: the event was initialised by `make`; the emitter takes it.
        unsafe {
            if unsafe_yaml::yaml_emitter_emit(self.raw.as_mut_ptr(), ev.as_mut_ptr()).fail {
                self.failed = true;
            }
        }
    }

    fn node(&mut self, n: &RNode) {
        match n {
            RNode::Scalar {
                tag,
                value,
                literal,
            } => {
                let plain_implicit = resolve_plain(value) == *tag;
                let quoted_implicit = *tag == TAG_STR;
                let ctag = cstring(tag);
                let style = if *literal {
                    unsafe_yaml::YAML_LITERAL_SCALAR_STYLE
                } else {
                    unsafe_yaml::YAML_PLAIN_SCALAR_STYLE
                };
                let len = value.len().min(i32::MAX as usize) as i32;
                // SAFETY: libyaml copies tag and value.
                self.emit(|ev| unsafe {
                    unsafe_yaml::yaml_scalar_event_initialize(
                        ev,
                        std::ptr::null(),
                        ctag.as_ptr() as *const u8,
                        value.as_ptr(),
                        len,
                        plain_implicit,
                        quoted_implicit,
                        style,
                    )
                    .ok
                });
            }
            RNode::Seq { items, flow } => {
                let ctag = cstring(TAG_SEQ);
                let style = if *flow {
                    unsafe_yaml::YAML_FLOW_SEQUENCE_STYLE
                } else {
                    unsafe_yaml::YAML_BLOCK_SEQUENCE_STYLE
                };
                // SAFETY: libyaml copies the tag.
                self.emit(|ev| unsafe {
                    unsafe_yaml::yaml_sequence_start_event_initialize(
                        ev,
                        std::ptr::null(),
                        ctag.as_ptr() as *const u8,
                        true,
                        style,
                    )
                    .ok
                });
                for i in items {
                    self.node(i);
                }
                // SAFETY: plain event construction.
                self.emit(|ev| unsafe { unsafe_yaml::yaml_sequence_end_event_initialize(ev).ok });
            }
            RNode::Map { pairs, flow } => {
                let ctag = cstring(TAG_MAP);
                let style = if *flow {
                    unsafe_yaml::YAML_FLOW_MAPPING_STYLE
                } else {
                    unsafe_yaml::YAML_BLOCK_MAPPING_STYLE
                };
                // SAFETY: libyaml copies the tag.
                self.emit(|ev| unsafe {
                    unsafe_yaml::yaml_mapping_start_event_initialize(
                        ev,
                        std::ptr::null(),
                        ctag.as_ptr() as *const u8,
                        true,
                        style,
                    )
                    .ok
                });
                for (k, v) in pairs {
                    self.node(k);
                    self.node(v);
                }
                // SAFETY: plain event construction.
                self.emit(|ev| unsafe { unsafe_yaml::yaml_mapping_end_event_initialize(ev).ok });
            }
        }
    }
}

impl Drop for Emitter {
    fn drop(&mut self) {
        // SAFETY: initialised (or zeroed by a failed initialise) in `new`.
        unsafe { unsafe_yaml::yaml_emitter_delete(self.raw.as_mut_ptr()) }
    }
}

/// Dump as `salt.utils.yaml.safe_dump(value, default_flow_style=...)` does
/// for a Python dict (keys sorted).
pub fn dump(value: &Value, opts: DumpOptions) -> String {
    dump_with(value, &opts.into())
}

/// Dump as `yaml.dump(value, Dumper=SafeOrderedDumper, **cfg)` does (what
/// `salt.utils.yaml.safe_dump` calls). Like Salt's libyaml-based dumper (and
/// unlike PyYAML's pure-Python one) a bare top-level scalar gets no `...`.
pub fn dump_with(value: &Value, cfg: &DumpConfig) -> String {
    let opts = *cfg;
    let mut node = represent(value, &opts);
    let mut astral = Vec::new();
    // A stand-in whose escaped form appears nowhere in the input.
    let suffix = ('A'..='Z').map(|c| c.to_string().repeat(4)).find(|sfx| {
        let text = format!("uFFFE{sfx}");
        let raw = format!("\u{fffe}{sfx}");
        !any_scalar(&node, &|v| v.contains(&text) || v.contains(&raw))
    });
    if let Some(sfx) = &suffix {
        mask_astral(&mut node, &format!("\u{fffe}{sfx}"), &mut astral);
    }
    let out = emit_document(&node, &opts);
    match suffix {
        Some(sfx) if !astral.is_empty() => unmask_astral(&out, &format!("\\uFFFE{sfx}"), &astral),
        _ => out,
    }
}

/// PyYAML's libyaml (0.2.6 in its wheels) does not count characters beyond
/// U+FFFF as printable, so it double-quotes and `\U`-escapes them; the Rust
/// translation of libyaml treats them as printable. To get PyYAML's output
/// each is swapped for a `mask`: U+FFFE (also unprintable, written `\uFFFE`)
/// plus four letters, so that the escape takes the same 10 columns and lines
/// fold at the same places; [`unmask_astral`] restores it. Only libyaml's
/// 128-byte limit on simple keys sees a different length (7 bytes, not 4).
fn mask_astral(n: &mut RNode, mask: &str, found: &mut Vec<char>) {
    match n {
        RNode::Scalar { value, .. } => {
            if value.chars().any(|c| c as u32 >= 0x10000) {
                let mut masked = String::with_capacity(value.len() + 8);
                for c in value.chars() {
                    if c as u32 >= 0x10000 {
                        found.push(c);
                        masked.push_str(mask);
                    } else {
                        masked.push(c);
                    }
                }
                *value = masked;
            }
        }
        RNode::Seq { items, .. } => items.iter_mut().for_each(|i| mask_astral(i, mask, found)),
        RNode::Map { pairs, .. } => pairs.iter_mut().for_each(|(k, v)| {
            mask_astral(k, mask, found);
            mask_astral(v, mask, found);
        }),
    }
}

fn any_scalar(n: &RNode, f: &dyn Fn(&str) -> bool) -> bool {
    match n {
        RNode::Scalar { value, .. } => f(value),
        RNode::Seq { items, .. } => items.iter().any(|i| any_scalar(i, f)),
        RNode::Map { pairs, .. } => pairs
            .iter()
            .any(|(k, v)| any_scalar(k, f) || any_scalar(v, f)),
    }
}

/// Put the characters [`mask_astral`] took out back, as `\U` escapes.
fn unmask_astral(out: &str, escaped: &str, found: &[char]) -> String {
    let mut res = String::with_capacity(out.len());
    let mut rest = out;
    let mut chars = found.iter();
    while let Some(pos) = rest.find(escaped) {
        res.push_str(&rest[..pos]);
        if let Some(&c) = chars.next() {
            res.push_str(&format!("\\U{:08X}", c as u32));
        }
        rest = &rest[pos + escaped.len()..];
    }
    res.push_str(rest);
    res
}

fn emit_document(node: &RNode, opts: &DumpConfig) -> String {
    let opts = *opts;
    let mut e = Emitter::new(&opts);
    // SAFETY: plain event construction (no pointers kept).
    e.emit(|ev| unsafe {
        unsafe_yaml::yaml_stream_start_event_initialize(ev, unsafe_yaml::YAML_UTF8_ENCODING).ok
    });
    let implicit_start = !opts.explicit_start;
    // SAFETY: no version or tag directives.
    e.emit(|ev| unsafe {
        unsafe_yaml::yaml_document_start_event_initialize(
            ev,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            implicit_start,
        )
        .ok
    });
    e.node(node);
    let implicit_end = !opts.explicit_end;
    // SAFETY: plain event construction.
    e.emit(|ev| unsafe { unsafe_yaml::yaml_document_end_event_initialize(ev, implicit_end).ok });
    // SAFETY: plain event construction.
    e.emit(|ev| unsafe { unsafe_yaml::yaml_stream_end_event_initialize(ev).ok });
    // SAFETY: flushing an initialised emitter.
    unsafe {
        if !e.failed {
            let _ = unsafe_yaml::yaml_emitter_flush(e.raw.as_mut_ptr());
        }
    }
    debug_assert!(!e.failed, "libyaml emitter failed");
    String::from_utf8_lossy(&e.out).into_owned()
}
