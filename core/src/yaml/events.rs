//! A safe wrapper over libyaml's event parser (`unsafe-libyaml-norway`).
//!
//! Produces owned [`Event`]s one at a time, as PyYAML's `CParser` pulls them,
//! so errors surface in the same order as in Salt. Parser errors carry
//! libyaml's context/problem texts and marks, which PyYAML prints verbatim.

use super::{YamlError, YamlErrorKind};
use std::ffi::CStr;
use std::mem::MaybeUninit;
use unsafe_libyaml_norway as unsafe_yaml;

/// A position in the input, 0-based as libyaml and PyYAML keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mark {
    pub line: usize,
    pub column: usize,
}

impl Mark {
    fn from_sys(m: unsafe_yaml::yaml_mark_t) -> Mark {
        Mark {
            line: m.line as usize,
            column: m.column as usize,
        }
    }
}

/// How a scalar was written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EventKind {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias {
        anchor: String,
    },
    Scalar {
        anchor: Option<String>,
        tag: Option<String>,
        value: String,
        style: ScalarStyle,
        plain_implicit: bool,
    },
    SequenceStart {
        anchor: Option<String>,
        tag: Option<String>,
    },
    SequenceEnd,
    MappingStart {
        anchor: Option<String>,
        tag: Option<String>,
    },
    MappingEnd,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub kind: EventKind,
    pub start: Mark,
}

/// An error in PyYAML's `MarkedYAMLError` shape.
#[derive(Debug, Clone)]
pub(crate) struct Marked {
    pub kind: YamlErrorKind,
    pub context: Option<String>,
    pub context_mark: Option<Mark>,
    pub problem: String,
    pub problem_mark: Option<Mark>,
}

/// PyYAML names a `str` input stream like this in every mark.
pub(crate) const STREAM_NAME: &str = "<unicode string>";

fn mark_str(m: Mark) -> String {
    format!(
        "  in \"{STREAM_NAME}\", line {}, column {}",
        m.line + 1,
        m.column + 1
    )
}

impl Marked {
    pub fn new(
        kind: YamlErrorKind,
        context: Option<&str>,
        context_mark: Option<Mark>,
        problem: impl Into<String>,
        problem_mark: Option<Mark>,
    ) -> Marked {
        Marked {
            kind,
            context: context.map(str::to_string),
            context_mark,
            problem: problem.into(),
            problem_mark,
        }
    }

    /// `MarkedYAMLError.__str__`, with marks printed as `CParser` makes them
    /// (no snippet).
    pub fn into_error(self) -> YamlError {
        let mut lines = Vec::new();
        if let Some(c) = &self.context {
            lines.push(c.clone());
        }
        if let Some(cm) = self.context_mark {
            if self.problem_mark != Some(cm) {
                lines.push(mark_str(cm));
            }
        }
        lines.push(self.problem.clone());
        if let Some(pm) = self.problem_mark {
            lines.push(mark_str(pm));
        }
        let at = self.problem_mark.or(self.context_mark).unwrap_or_default();
        YamlError {
            line: at.line + 1,
            column: at.column + 1,
            message: lines.join("\n"),
            kind: self.kind,
            problem: self.problem,
        }
    }
}

/// Pulls events from libyaml over a borrowed input.
pub(crate) struct Parser<'a> {
    raw: Box<MaybeUninit<unsafe_yaml::yaml_parser_t>>,
    src: &'a [u8],
    done: bool,
    peeked: Option<Event>,
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a str) -> Parser<'a> {
        let mut raw: Box<MaybeUninit<unsafe_yaml::yaml_parser_t>> = Box::new(MaybeUninit::uninit());
        let src = src.as_bytes();
        // SAFETY: libyaml initialises the zeroed struct; the input slice
        // outlives the parser (lifetime 'a) and is never written.
        unsafe {
            let p = raw.as_mut_ptr();
            if unsafe_yaml::yaml_parser_initialize(p).fail {
                // Allocation failure only; treated as an immediate error below.
                return Parser {
                    raw,
                    src,
                    done: true,
                    peeked: None,
                };
            }
            unsafe_yaml::yaml_parser_set_input_string(p, src.as_ptr(), src.len() as u64);
        }
        Parser {
            raw,
            src,
            done: false,
            peeked: None,
        }
    }

    /// Consume the next event if it ends a sequence or mapping; otherwise
    /// keep it for the next [`Parser::next_event`].
    pub fn end_of_collection(&mut self) -> Result<bool, YamlError> {
        let ev = self.next_event()?;
        if matches!(ev.kind, EventKind::SequenceEnd | EventKind::MappingEnd) {
            Ok(true)
        } else {
            self.peeked = Some(ev);
            Ok(false)
        }
    }

    /// The next event, or the parser's error.
    pub fn next_event(&mut self) -> Result<Event, YamlError> {
        if let Some(ev) = self.peeked.take() {
            return Ok(ev);
        }
        if self.done {
            return Err(YamlError {
                line: 1,
                column: 1,
                message: "YAML parser is in an error state".into(),
                kind: YamlErrorKind::Other,
                problem: "YAML parser is in an error state".into(),
            });
        }
        let mut ev = MaybeUninit::<unsafe_yaml::yaml_event_t>::uninit();
        // SAFETY: the parser was initialised in `new`; the event is read only
        // after a successful parse and deleted before returning.
        unsafe {
            let p = self.raw.as_mut_ptr();
            if unsafe_yaml::yaml_parser_parse(p, ev.as_mut_ptr()).fail {
                self.done = true;
                return Err(self.error());
            }
            let ev = ev.as_mut_ptr();
            let out = convert(&*ev);
            unsafe_yaml::yaml_event_delete(ev);
            Ok(out)
        }
    }

    /// PyYAML's `CParser._parser_error`.
    unsafe fn error(&self) -> YamlError {
        let p = &*self.raw.as_ptr();
        let mut problem = cstr(p.problem).unwrap_or_else(|| "unknown YAML error".into());
        // The Rust translation fixed a typo that PyYAML's libyaml still has.
        if problem == "did not find expected hexadecimal number" {
            problem = "did not find expected hexdecimal number".into();
        }
        match p.error {
            unsafe_yaml::YAML_READER_ERROR => {
                let offset = p.problem_offset as usize;
                let (line, column) = offset_position(self.src, offset);
                let message = if p.problem_value >= 0 {
                    format!(
                        "unacceptable character #x{:04x}: {}\n  in \"{}\", position {}",
                        p.problem_value, problem, STREAM_NAME, offset
                    )
                } else {
                    format!("{problem}\n  in \"{STREAM_NAME}\", position {offset}")
                };
                YamlError {
                    line,
                    column,
                    message,
                    kind: YamlErrorKind::Reader,
                    problem,
                }
            }
            unsafe_yaml::YAML_SCANNER_ERROR | unsafe_yaml::YAML_PARSER_ERROR => {
                let kind = if p.error == unsafe_yaml::YAML_SCANNER_ERROR {
                    YamlErrorKind::Scanner
                } else {
                    YamlErrorKind::Parser
                };
                let context = cstr(p.context);
                let context_mark = context.as_ref().map(|_| Mark::from_sys(p.context_mark));
                Marked {
                    kind,
                    context,
                    context_mark,
                    problem,
                    problem_mark: Some(Mark::from_sys(p.problem_mark)),
                }
                .into_error()
            }
            _ => YamlError {
                line: 1,
                column: 1,
                message: problem.clone(),
                kind: YamlErrorKind::Other,
                problem,
            },
        }
    }
}

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        // SAFETY: the struct was initialised in `new` (a failed initialise
        // leaves it zeroed, which delete accepts).
        unsafe { unsafe_yaml::yaml_parser_delete(self.raw.as_mut_ptr()) }
    }
}

unsafe fn cstr(p: *const std::ffi::c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(CStr::from_ptr(p).to_string_lossy().into_owned())
    }
}

unsafe fn ystr(p: *const u8) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(
            CStr::from_ptr(p as *const std::ffi::c_char)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// 1-based line and column of a byte offset (for reader errors, which
/// libyaml reports as an offset only).
fn offset_position(src: &[u8], offset: usize) -> (usize, usize) {
    let upto = &src[..offset.min(src.len())];
    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = upto
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let column = String::from_utf8_lossy(&upto[line_start..]).chars().count() + 1;
    (line, column)
}

unsafe fn convert(ev: &unsafe_yaml::yaml_event_t) -> Event {
    let start = Mark::from_sys(ev.start_mark);
    let kind = match ev.type_ {
        unsafe_yaml::YAML_STREAM_START_EVENT => EventKind::StreamStart,
        unsafe_yaml::YAML_STREAM_END_EVENT => EventKind::StreamEnd,
        unsafe_yaml::YAML_DOCUMENT_START_EVENT => EventKind::DocumentStart,
        unsafe_yaml::YAML_DOCUMENT_END_EVENT => EventKind::DocumentEnd,
        unsafe_yaml::YAML_ALIAS_EVENT => EventKind::Alias {
            anchor: ystr(ev.data.alias.anchor).unwrap_or_default(),
        },
        unsafe_yaml::YAML_SCALAR_EVENT => {
            let s = ev.data.scalar;
            let bytes = if s.value.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts(s.value, s.length as usize)
            };
            EventKind::Scalar {
                anchor: ystr(s.anchor),
                tag: ystr(s.tag),
                value: String::from_utf8_lossy(bytes).into_owned(),
                style: match s.style {
                    unsafe_yaml::YAML_SINGLE_QUOTED_SCALAR_STYLE => ScalarStyle::SingleQuoted,
                    unsafe_yaml::YAML_DOUBLE_QUOTED_SCALAR_STYLE => ScalarStyle::DoubleQuoted,
                    unsafe_yaml::YAML_LITERAL_SCALAR_STYLE => ScalarStyle::Literal,
                    unsafe_yaml::YAML_FOLDED_SCALAR_STYLE => ScalarStyle::Folded,
                    _ => ScalarStyle::Plain,
                },
                plain_implicit: s.plain_implicit,
            }
        }
        unsafe_yaml::YAML_SEQUENCE_START_EVENT => EventKind::SequenceStart {
            anchor: ystr(ev.data.sequence_start.anchor),
            tag: ystr(ev.data.sequence_start.tag),
        },
        unsafe_yaml::YAML_SEQUENCE_END_EVENT => EventKind::SequenceEnd,
        unsafe_yaml::YAML_MAPPING_START_EVENT => EventKind::MappingStart {
            anchor: ystr(ev.data.mapping_start.anchor),
            tag: ystr(ev.data.mapping_start.tag),
        },
        unsafe_yaml::YAML_MAPPING_END_EVENT => EventKind::MappingEnd,
        _ => EventKind::StreamEnd,
    };
    Event { kind, start }
}
