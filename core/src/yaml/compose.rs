//! PyYAML's composer as `CParser` implements it: events -> a node graph.
//!
//! Nodes live in an arena and aliases share the anchored node (as Python
//! shares the node object), because Salt's `flatten_mapping` mutates nodes in
//! place and the constructor caches one object per node. Tags of untagged or
//! `!`-tagged scalars are resolved here with PyYAML's implicit resolvers.

use super::events::{Event, EventKind, Mark, Marked, Parser, ScalarStyle};
use super::resolve::{resolve_plain, TAG_MAP, TAG_SEQ, TAG_STR};
use super::{YamlError, YamlErrorKind};
use std::collections::HashMap;

pub(crate) type NodeId = usize;

/// Deeper nesting is refused instead of risking the stack: construction,
/// dumping and every consumer of [`crate::value::Value`] recurse, and a 2 MiB
/// thread stack in a debug build holds a few hundred levels. Salt has no
/// such limit; real SLS and pillar data nest a few dozen levels at most.
pub(crate) const MAX_DEPTH: usize = 200;

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar {
        value: String,
        #[allow(dead_code)]
        style: ScalarStyle,
    },
    Sequence(Vec<NodeId>),
    Mapping(Vec<(NodeId, NodeId)>),
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub tag: String,
    pub kind: NodeKind,
    pub start: Mark,
}

impl Node {
    /// PyYAML's `node.id`.
    pub fn id_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Scalar { .. } => "scalar",
            NodeKind::Sequence(_) => "sequence",
            NodeKind::Mapping(_) => "mapping",
        }
    }
}

/// A composed document: the arena and its root.
#[derive(Debug)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub root: NodeId,
}

struct Composer<'a> {
    parser: Events<'a>,
    nodes: Vec<Node>,
    anchors: HashMap<String, NodeId>,
}

/// Documents at least this long are scanned and parsed by libyaml on a
/// second thread while this one composes (a large rendered SLS spends about
/// as long in each half); shorter ones are not worth a thread.
const PIPELINE_MIN_LEN: usize = 8 * 1024;

/// Events handed over from the parsing thread at a time.
const BATCH: usize = 256;

type Batch = Vec<Result<Event, YamlError>>;

/// Where the composer's events come from: the fast scanner's list, the
/// parser itself, or a parser running on another thread (same events, same
/// errors, same order).
enum Events<'a> {
    /// Events from [`super::fast::scan`] (which never fails part-way).
    Listed {
        events: std::vec::IntoIter<Event>,
        peeked: Option<Event>,
    },
    Direct(Parser<'a>),
    Piped {
        rx: std::sync::mpsc::Receiver<Batch>,
        batch: std::vec::IntoIter<Result<Event, YamlError>>,
        peeked: Option<Event>,
        /// STREAM-END was handed out.
        ended: bool,
    },
}

/// What libyaml's parser gives once the stream has ended: an empty event,
/// which reads as another STREAM-END (the composer reads one event past the
/// end of an empty stream).
fn after_stream_end() -> Event {
    Event {
        kind: EventKind::StreamEnd,
        start: Mark::default(),
    }
}

impl Events<'_> {
    fn next_event(&mut self) -> Result<Event, YamlError> {
        match self {
            Events::Listed { events, peeked } => Ok(peeked
                .take()
                .or_else(|| events.next())
                .unwrap_or_else(after_stream_end)),
            Events::Direct(p) => p.next_event(),
            Events::Piped {
                rx,
                batch,
                peeked,
                ended,
            } => {
                if let Some(ev) = peeked.take() {
                    return Ok(ev);
                }
                loop {
                    if let Some(ev) = batch.next() {
                        if matches!(&ev, Ok(e) if matches!(e.kind, EventKind::StreamEnd)) {
                            *ended = true;
                        }
                        return ev;
                    }
                    match rx.recv() {
                        Ok(b) => *batch = b.into_iter(),
                        Err(_) if *ended => return Ok(after_stream_end()),
                        // The parser stops after an error or the stream end,
                        // and the composer never reads past an error.
                        Err(_) => {
                            return Err(YamlError {
                                line: 1,
                                column: 1,
                                message: "YAML parser is in an error state".into(),
                                kind: YamlErrorKind::Other,
                                problem: "YAML parser is in an error state".into(),
                            })
                        }
                    }
                }
            }
        }
    }

    fn end_of_collection(&mut self) -> Result<bool, YamlError> {
        match self {
            Events::Direct(p) => p.end_of_collection(),
            Events::Listed { .. } | Events::Piped { .. } => {
                let ev = self.next_event()?;
                if matches!(ev.kind, EventKind::SequenceEnd | EventKind::MappingEnd) {
                    Ok(true)
                } else {
                    if let Events::Listed { peeked, .. } | Events::Piped { peeked, .. } = self {
                        *peeked = Some(ev);
                    }
                    Ok(false)
                }
            }
        }
    }
}

/// Run libyaml over `src`, sending its events in batches until the stream
/// ends, an error occurs or the receiver is gone.
fn produce(src: &str, tx: std::sync::mpsc::Sender<Batch>) {
    let mut parser = Parser::new(src);
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let mut last = false;
        while batch.len() < BATCH {
            let ev = parser.next_event();
            last = match &ev {
                Ok(e) => matches!(e.kind, EventKind::StreamEnd),
                Err(_) => true,
            };
            batch.push(ev);
            if last {
                break;
            }
        }
        if tx.send(batch).is_err() || last {
            return;
        }
    }
}

/// `CParser.get_single_node()`: `None` for an empty stream.
///
/// Documents in the subset [`super::fast::scan`] understands skip libyaml;
/// the others (and every invalid one) go through libyaml from the start.
pub(crate) fn compose(src: &str) -> Result<Option<Graph>, YamlError> {
    if let Some(events) = super::fast::scan(src) {
        return compose_from(Events::Listed {
            events: events.into_iter(),
            peeked: None,
        });
    }
    compose_libyaml(src)
}

/// [`compose`] with libyaml's events (pipelined for long documents).
pub(crate) fn compose_libyaml(src: &str) -> Result<Option<Graph>, YamlError> {
    if src.len() < PIPELINE_MIN_LEN {
        return compose_from(Events::Direct(Parser::new(src)));
    }
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("yaml-parse".into())
            .spawn_scoped(scope, move || produce(src, tx));
        match spawned {
            Ok(_) => compose_from(Events::Piped {
                rx,
                batch: Vec::new().into_iter(),
                peeked: None,
                ended: false,
            }),
            // No thread available: parse here.
            Err(_) => compose_from(Events::Direct(Parser::new(src))),
        }
    })
}

fn compose_from(parser: Events<'_>) -> Result<Option<Graph>, YamlError> {
    // Every node but an alias comes from one event.
    let nodes = match &parser {
        Events::Listed { events, .. } => Vec::with_capacity(events.len()),
        _ => Vec::new(),
    };
    let mut c = Composer {
        parser,
        nodes,
        anchors: HashMap::new(),
    };
    // STREAM-START
    c.parser.next_event()?;
    let ev = c.parser.next_event()?;
    let mut root = None;
    if !matches!(ev.kind, EventKind::StreamEnd) {
        // DOCUMENT-START consumed; compose the root, then DOCUMENT-END.
        let r = c.compose_node()?;
        c.parser.next_event()?;
        c.anchors.clear();
        root = Some(r);
    }
    let ev = c.parser.next_event()?;
    if !matches!(ev.kind, EventKind::StreamEnd) {
        let doc_mark = root.map(|r| c.nodes[r].start);
        return Err(Marked::new(
            YamlErrorKind::Composer,
            Some("expected a single document in the stream"),
            doc_mark,
            "but found another document",
            Some(ev.start),
        )
        .into_error());
    }
    Ok(root.map(|root| Graph {
        nodes: c.nodes,
        root,
    }))
}

impl Composer<'_> {
    fn add(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn register(&mut self, anchor: Option<String>, id: NodeId) {
        if let Some(a) = anchor {
            self.anchors.insert(a, id);
        }
    }

    fn check_anchor(&self, anchor: &Option<String>, start: Mark) -> Result<(), YamlError> {
        if let Some(a) = anchor {
            if let Some(&first) = self.anchors.get(a) {
                return Err(Marked::new(
                    YamlErrorKind::Composer,
                    Some("found duplicate anchor; first occurrence"),
                    Some(self.nodes[first].start),
                    "second occurrence",
                    Some(start),
                )
                .into_error());
            }
        }
        Ok(())
    }

    fn too_deep(start: Mark) -> YamlError {
        Marked::new(
            YamlErrorKind::Composer,
            None,
            None,
            format!("document is nested more than {MAX_DEPTH} levels deep"),
            Some(start),
        )
        .into_error()
    }

    /// `_compose_node`, iteratively (an explicit stack instead of recursion,
    /// so deep documents cannot overflow the thread's stack).
    fn compose_node(&mut self) -> Result<NodeId, YamlError> {
        // Open collections: (node, where its children start in
        // `children`). The children of all open collections sit one after
        // the other in `children` (keys and values alternate for a
        // mapping), so that each collection's list is allocated once, at
        // its exact size, when it closes.
        let mut stack: Vec<(NodeId, usize)> = Vec::new();
        let mut children: Vec<NodeId> = Vec::new();
        loop {
            let done = if stack.is_empty() {
                None
            } else if self.peek_end()? {
                let (id, from) = stack.pop().unwrap_or_default();
                self.finish(id, &children[from..]);
                children.truncate(from);
                Some(id)
            } else {
                None
            };
            let id = match done {
                Some(id) => id,
                None => match self.compose_one(stack.len())? {
                    Ok(id) => id,
                    Err(open) => {
                        stack.push((open, children.len()));
                        continue;
                    }
                },
            };
            if stack.is_empty() {
                return Ok(id);
            }
            children.push(id);
        }
    }

    /// Store a finished collection's children (pairs for a mapping).
    fn finish(&mut self, id: NodeId, children: &[NodeId]) {
        match &mut self.nodes[id].kind {
            NodeKind::Sequence(items) => *items = children.to_vec(),
            NodeKind::Mapping(pairs) => {
                *pairs = children.chunks(2).map(|c| (c[0], c[c.len() - 1])).collect();
            }
            NodeKind::Scalar { .. } => {}
        }
    }

    /// Compose one event: `Ok(Ok(id))` for a complete node (scalar or
    /// alias), `Ok(Err(id))` for a collection that was opened.
    fn compose_one(&mut self, depth: usize) -> Result<Result<NodeId, NodeId>, YamlError> {
        let ev = self.parser.next_event()?;
        let start = ev.start;
        let is_seq = matches!(ev.kind, EventKind::SequenceStart { .. });
        match ev.kind {
            EventKind::Alias { anchor } => match self.anchors.get(&anchor) {
                Some(&id) => Ok(Ok(id)),
                None => Err(Marked::new(
                    YamlErrorKind::Composer,
                    None,
                    None,
                    "found undefined alias",
                    Some(start),
                )
                .into_error()),
            },
            EventKind::Scalar {
                anchor,
                tag,
                value,
                style,
                plain_implicit,
            } => {
                self.check_anchor(&anchor, start)?;
                let tag = match tag {
                    Some(t) if t != "!" => t,
                    _ => {
                        if plain_implicit {
                            resolve_plain(&value).to_string()
                        } else {
                            TAG_STR.to_string()
                        }
                    }
                };
                let id = self.add(Node {
                    tag,
                    kind: NodeKind::Scalar { value, style },
                    start,
                });
                self.register(anchor, id);
                Ok(Ok(id))
            }
            EventKind::SequenceStart { anchor, tag } | EventKind::MappingStart { anchor, tag } => {
                self.check_anchor(&anchor, start)?;
                if depth >= MAX_DEPTH {
                    return Err(Self::too_deep(start));
                }
                let (default_tag, kind) = if is_seq {
                    (TAG_SEQ, NodeKind::Sequence(Vec::new()))
                } else {
                    (TAG_MAP, NodeKind::Mapping(Vec::new()))
                };
                let tag = match tag {
                    Some(t) if t != "!" => t,
                    _ => default_tag.to_string(),
                };
                let id = self.add(Node { tag, kind, start });
                self.register(anchor, id);
                Ok(Err(id))
            }
            other => Err(Marked::new(
                YamlErrorKind::Composer,
                None,
                None,
                format!("unexpected YAML event {other:?}"),
                Some(start),
            )
            .into_error()),
        }
    }

    /// Whether the next event ends the current collection (consuming it if
    /// so). Otherwise the event is kept for `compose_node`.
    fn peek_end(&mut self) -> Result<bool, YamlError> {
        self.parser.end_of_collection()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The composer on the calling thread only.
    fn direct(src: &str) -> String {
        format!("{:?}", compose_from(Events::Direct(Parser::new(src))))
    }

    fn big(tail: &str) -> String {
        let mut s = String::from("base: &b {x: 1, y: [a, b]}\n");
        for i in 0..2000 {
            s.push_str(&format!("k{i}:\n  - 'v {i}'\n  - {{n: {i}, m: *b}}\n"));
        }
        s.push_str(tail);
        assert!(s.len() >= PIPELINE_MIN_LEN);
        s
    }

    #[test]
    fn pipelined_parse_gives_the_same_graph() {
        let src = big("last: ~\n");
        let piped = format!("{:?}", compose_libyaml(&src));
        assert!(piped.starts_with("Ok(Some("));
        assert_eq!(piped, direct(&src));
    }

    #[test]
    fn pipelined_parse_gives_the_same_errors() {
        for tail in [
            "bad: [unclosed\n",
            "dup: &b 1\n",
            "tab:\t\x01x\n",
            "nope: *missing\n",
            "---\nsecond: doc\n",
        ] {
            let src = big(tail);
            let piped = format!("{:?}", compose_libyaml(&src));
            assert!(piped.starts_with("Err("), "{tail:?}: {piped}");
            assert_eq!(piped, direct(&src), "{tail:?}");
        }
    }

    #[test]
    fn empty_streams_compose_to_nothing_on_every_path() {
        let long = "# comment\n".repeat(1000);
        assert!(long.len() >= PIPELINE_MIN_LEN);
        for src in ["", "# c\n", long.as_str()] {
            assert_eq!(format!("{:?}", compose(src)), "Ok(None)");
            assert_eq!(format!("{:?}", compose_libyaml(src)), "Ok(None)");
            assert_eq!(direct(src), "Ok(None)");
        }
    }

    #[test]
    fn fast_scan_gives_the_same_graph() {
        let mut src = String::new();
        for i in 0..500 {
            src.push_str(&format!(
                "id{i}:\n  file.managed:\n    - name: /x/{i}\n    - mode: '0644'\n    - contents: |\n        a {i}\n"
            ));
        }
        assert!(super::super::fast::scan(&src).is_some());
        let fast = format!("{:?}", compose(&src));
        assert!(fast.starts_with("Ok(Some("));
        assert_eq!(fast, direct(&src));
        assert_eq!(fast, format!("{:?}", compose_libyaml(&src)));
    }
}
