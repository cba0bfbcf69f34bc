//! YAML with Salt's semantics: PyYAML's YAML 1.1 resolver as wrapped by
//! `salt/utils/yamlloader.py`, built on libyaml's event API.
//!
//! Salt 3007.8 loads YAML with `SaltYamlSafeLoader`, which sits on PyYAML's
//! `CSafeLoader`: libyaml scans, parses and composes, PyYAML's Python resolver
//! picks implicit tags, and Salt's constructor builds the objects (leading
//! zeros stripped from ints, timestamps kept as strings, `<<` merged first,
//! duplicate keys rejected). We do the same: libyaml (the
//! `unsafe-libyaml-norway` translation) gives events with scalar style, tags,
//! anchor names and marks (`events`), `compose` builds PyYAML's node graph,
//! `resolve` holds PyYAML's implicit resolvers and `construct` is Salt's
//! constructor. Dumping ([`dump`]) drives libyaml's emitter the way PyYAML's
//! `CSafeDumper` (Salt's `SafeOrderedDumper`) does; `quote` holds Salt's
//! `yaml_dquote`/`yaml_squote`/`yaml_encode` Jinja filters.

mod compose;
mod construct;
mod emit;
mod events;
mod fast;
mod quote;
pub(crate) mod resolve;

#[cfg(test)]
mod tests;

use crate::value::Value;

pub use emit::{dump, dump_with, format_yaml, DumpConfig, DumpOptions};
pub use quote::{dump_scalar_double_quoted, dump_scalar_single_quoted, yaml_encode};

/// Which stage of PyYAML would have raised the error (PyYAML's exception
/// class). Salt's SLS renderer prints scanner errors differently from the
/// others (only the problem and line), so callers may need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// `yaml.reader.ReaderError`: bad characters in the input.
    Reader,
    /// `yaml.scanner.ScannerError`.
    Scanner,
    /// `yaml.parser.ParserError`.
    Parser,
    /// `yaml.composer.ComposerError`: anchors, aliases, document count.
    Composer,
    /// `yaml.constructor.ConstructorError`: tags, keys, merges.
    Constructor,
    /// A non-YAML Python exception raised while constructing (for instance
    /// `ValueError` from `!!int abc`); Salt lets these escape as tracebacks.
    Other,
}

/// A YAML error with its position (1-based line and column).
///
/// `message` is the text PyYAML's exception prints (`str(exc)`), for example
/// `while constructing a mapping\n  in "<unicode string>", line 1, column 1\n
/// found conflicting ID 'a'\n  in "<unicode string>", line 2, column 1`.
/// `line`/`column` are those of the problem mark (where PyYAML has one).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// PyYAML's exception class for this error.
    pub kind: YamlErrorKind,
    /// PyYAML's `problem` alone (e.g. `found character that cannot start any
    /// token`): Salt's SLS renderer shows only this for scanner errors.
    pub problem: String,
}

/// Load one YAML document as Salt's SLS loader does
/// (`SaltYamlSafeLoader(dictclass=OrderedDict)`; the same as
/// `salt.utils.yaml.safe_load` except that `!!omap` gives a mapping).
/// An empty document loads as [`Value::Null`].
pub fn load(src: &str) -> Result<Value, YamlError> {
    SHARED_TOP.with(|s| s.borrow_mut().clear());
    match compose::compose(src)? {
        None => Ok(Value::Null),
        Some(graph) => {
            note_shared_top(&graph);
            construct::construct_document(graph)
        }
    }
}

thread_local! {
    static SHARED_TOP: std::cell::RefCell<Vec<(String, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Top-level keys whose mapping values are one node (`b: *a_body`): Python
/// shares that dict, so Salt's compiler mutates both IDs' bodies at once.
/// Noted as `(later key, first key)` by [`load`] for [`take_shared_top`].
fn note_shared_top(graph: &compose::Graph) {
    use compose::NodeKind;
    let Some(NodeKind::Mapping(pairs)) = graph.nodes.get(graph.root).map(|n| &n.kind) else {
        return;
    };
    let mut first: Vec<(compose::NodeId, &str)> = Vec::new();
    let mut shared = Vec::new();
    for (k, v) in pairs {
        let (Some(key), Some(val)) = (graph.nodes.get(*k), graph.nodes.get(*v)) else {
            continue;
        };
        let (NodeKind::Scalar { value, .. }, NodeKind::Mapping(_)) = (&key.kind, &val.kind) else {
            continue;
        };
        match first.iter().find(|(id, _)| id == v) {
            Some((_, orig)) => shared.push((value.clone(), orig.to_string())),
            None => first.push((*v, value)),
        }
    }
    if !shared.is_empty() {
        SHARED_TOP.with(|s| *s.borrow_mut() = shared);
    }
}

/// The `(alias key, original key)` pairs of top-level mapping values shared
/// through a YAML alias in the last document [`load`]ed on this thread (and
/// forget them).
pub fn take_shared_top() -> Vec<(String, String)> {
    SHARED_TOP.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

/// `salt.utils.yaml.safe_load` (the Jinja `load_yaml` filter, `import_yaml`):
/// the same as [`load`]. Salt's loader uses `dictclass=dict` there, which
/// would make `!!omap` a list of pairs, but creating any SLS loader registers
/// Salt's `!!omap`-as-mapping constructor on the shared class, so in a
/// running minion both behave alike.
pub fn safe_load(src: &str) -> Result<Value, YamlError> {
    load(src)
}
