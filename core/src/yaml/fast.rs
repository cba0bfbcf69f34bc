//! A fast, pure-Rust event producer for the common subset of block YAML.
//!
//! [`scan`] turns a document into exactly the events libyaml's parser
//! (`events::Parser`) would produce (same kinds, values, styles and start
//! marks, columns counted in characters), or gives up with `None` as soon as
//! it meets anything outside the subset it fully understands or anything
//! that could be an error; the caller then runs libyaml from scratch, so
//! error messages stay libyaml's.
//!
//! It is a transcription of the parts of libyaml's scanner and parser that
//! SLS files use: block mappings and sequences (indentless ones too), flow
//! sequences and mappings, one-line plain and quoted scalars, literal and
//! folded block scalars, comments. Simple keys are found by looking ahead on
//! the same line instead of libyaml's simple-key queue, which is exact for
//! every input that does not bail. Given up on: tabs, CR and other line
//! breaks, BOM, non-printable characters, directives, document markers,
//! anchors, aliases, tags, `?` keys, multi-line plain or quoted scalars,
//! complex (collection) keys and keys more than 1,000 bytes long.

use super::events::{Event, EventKind, Mark, ScalarStyle};
use std::cell::Cell;
use std::collections::VecDeque;

/// libyaml's token types (the subset produced here).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    StreamStart,
    StreamEnd,
    BlockSequenceStart,
    BlockMappingStart,
    BlockEnd,
    BlockEntry,
    FlowSequenceStart,
    FlowSequenceEnd,
    FlowMappingStart,
    FlowMappingEnd,
    FlowEntry,
    Key,
    Value,
    Scalar,
}

#[derive(Debug)]
struct Token {
    kind: Tok,
    start: Mark,
    end: Mark,
    /// A scalar's value and style.
    value: String,
    style: ScalarStyle,
}

/// Keys whose `:` is further than this many bytes from their start bail
/// (libyaml forgets a simple key 1,024 bytes on).
const MAX_KEY_LEN: usize = 1000;

/// The events libyaml would produce for `src`, or `None` when `src` is
/// outside the supported subset (or possibly invalid).
pub(crate) fn scan(src: &str) -> Option<Vec<Event>> {
    let (ascii, lines) = check_chars(src)?;
    let mut s = Scanner {
        b: src.as_bytes(),
        src,
        ascii,
        column_cache: Cell::new((0, 0, 0)),
        pos: 0,
        line: 0,
        line_start: 0,
        indent: -1,
        indents: Vec::new(),
        flow_level: 0,
        simple_key_allowed: true,
        done: false,
        tokens: VecDeque::with_capacity(16),
    };
    s.push(Tok::StreamStart, Mark::default(), Mark::default());
    // Events outnumber lines about three to one in SLS files.
    parse(s, lines * 3 + 8)
}

/// Whether every character is one libyaml reads without complaint and that
/// this scanner handles (printable, no tab, CR, NEL, LS, PS or BOM).
/// Gives whether the text is ASCII and its number of line feeds.
fn check_chars(src: &str) -> Option<(bool, usize)> {
    // Branch-free over chunks, so that it vectorises.
    let (mut lines, mut high) = (0usize, 0u8);
    for chunk in src.as_bytes().chunks(64) {
        let (bad, nl, hi) = chunk.iter().fold((false, 0u8, 0u8), |(bad, nl, hi), &b| {
            (
                bad | ((b < 0x20) & (b != b'\n')) | (b == 0x7f),
                nl + u8::from(b == b'\n'),
                hi | b,
            )
        });
        if bad {
            return None;
        }
        lines += usize::from(nl);
        high |= hi;
    }
    if high < 0x80 {
        return Some((true, lines));
    }
    for c in src.chars() {
        let c = c as u32;
        let ok = c < 0x80
            || (0xA0..=0xD7FF).contains(&c) && c != 0x2028 && c != 0x2029
            || (0xE000..=0xFFFD).contains(&c) && c != 0xFEFF
            || (0x10000..=0x10FFFF).contains(&c);
        if !ok {
            return None;
        }
    }
    Some((false, lines))
}

struct Scanner<'a> {
    src: &'a str,
    b: &'a [u8],
    ascii: bool,
    /// (line start, position, its column) of the last column computed.
    column_cache: Cell<(usize, usize, usize)>,
    pos: usize,
    line: usize,
    line_start: usize,
    indent: i64,
    indents: Vec<i64>,
    flow_level: usize,
    simple_key_allowed: bool,
    /// STREAM-END was queued.
    done: bool,
    /// Tokens scanned but not yet parsed.
    tokens: VecDeque<Token>,
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Scanner<'a> {
    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    /// libyaml's IS_BLANKZ (space, line break or end; tabs and other breaks
    /// were refused up front).
    fn blankz(&self, i: usize) -> bool {
        matches!(self.b.get(i), None | Some(b' ') | Some(b'\n'))
    }

    fn column_of(&self, line_start: usize, pos: usize) -> usize {
        if self.ascii {
            return pos - line_start;
        }
        // Count on from the last position asked for on the same line, so
        // that long lines with many tokens stay linear.
        let (cached_line, cached_pos, cached_col) = self.column_cache.get();
        let column = if cached_line == line_start && cached_pos <= pos {
            cached_col + self.src[cached_pos..pos].chars().count()
        } else {
            self.src[line_start..pos].chars().count()
        };
        self.column_cache.set((line_start, pos, column));
        column
    }

    fn mark(&self) -> Mark {
        Mark {
            line: self.line,
            column: self.column_of(self.line_start, self.pos),
        }
    }

    fn push(&mut self, kind: Tok, start: Mark, end: Mark) {
        self.tokens.push_back(Token {
            kind,
            start,
            end,
            value: String::new(),
            style: ScalarStyle::Plain,
        });
    }

    fn push_scalar(&mut self, value: String, style: ScalarStyle, start: Mark, end: Mark) {
        self.tokens.push_back(Token {
            kind: Tok::Scalar,
            start,
            end,
            value,
            style,
        });
    }

    /// A one-character token at the current position.
    fn push_char_token(&mut self, kind: Tok) {
        let start = self.mark();
        self.pos += 1;
        let end = Mark {
            line: start.line,
            column: start.column + 1,
        };
        self.push(kind, start, end);
    }

    /// `yaml_parser_fetch_next_token`: queue the next token(s).
    fn fetch(&mut self) -> Option<()> {
        self.scan_to_next_token();
        let m = self.mark();
        self.unroll_indent(m.column as i64, m);
        if self.pos >= self.b.len() {
            self.stream_end(m);
            return Some(());
        }
        let c = self.b[self.pos];
        if m.column == 0 && (c == b'%' || self.document_indicator(self.pos)) {
            return None;
        }
        match c {
            b'[' => self.flow_collection_start(Tok::FlowSequenceStart, m)?,
            b'{' => self.flow_collection_start(Tok::FlowMappingStart, m)?,
            b']' => self.flow_collection_end(Tok::FlowSequenceEnd)?,
            b'}' => self.flow_collection_end(Tok::FlowMappingEnd)?,
            b',' => {
                if self.flow_level == 0 {
                    return None;
                }
                self.simple_key_allowed = true;
                self.push_char_token(Tok::FlowEntry);
            }
            b'-' if self.blankz(self.pos + 1) => {
                if self.flow_level > 0 || !self.simple_key_allowed {
                    return None;
                }
                self.roll_indent(m.column as i64, None, Tok::BlockSequenceStart, m);
                self.simple_key_allowed = true;
                self.push_char_token(Tok::BlockEntry);
            }
            // Explicit keys, values without a simple key (complex keys,
            // `: x`), anchors, aliases and tags.
            b'?' | b':' if self.flow_level > 0 || self.blankz(self.pos + 1) => return None,
            b'*' | b'&' | b'!' => return None,
            b'|' | b'>' if self.flow_level == 0 => {
                self.simple_key_allowed = true;
                self.block_scalar(c == b'|', m)?;
            }
            b'\'' | b'"' => {
                let from = self.pos;
                let key = self.save_simple_key(m)?;
                self.simple_key_allowed = false;
                let value = self.quoted_scalar(c == b'\'')?;
                let style = if c == b'\'' {
                    ScalarStyle::SingleQuoted
                } else {
                    ScalarStyle::DoubleQuoted
                };
                self.scalar_token(value, style, m, from, key)?;
            }
            _ if self.plain_start(c) => {
                let from = self.pos;
                let key = self.save_simple_key(m)?;
                self.simple_key_allowed = false;
                let (value, leading_blanks) = self.plain_scalar()?;
                if leading_blanks {
                    self.simple_key_allowed = true;
                }
                self.scalar_token(value, ScalarStyle::Plain, m, from, key)?;
            }
            _ => return None,
        }
        Some(())
    }

    /// `---` or `...` followed by a blank or the end at `i`.
    fn document_indicator(&self, i: usize) -> bool {
        let b = self.b;
        i + 3 <= b.len() && (&b[i..i + 3] == b"---" || &b[i..i + 3] == b"...") && self.blankz(i + 3)
    }

    fn plain_start(&self, c: u8) -> bool {
        let next = self.pos + 1;
        !matches!(
            c,
            b' ' | b'\n'
                | b'-'
                | b'?'
                | b':'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        ) || (c == b'-' && self.at(next) != b' ')
            || (self.flow_level == 0 && (c == b'?' || c == b':') && !self.blankz(next))
    }

    /// `yaml_parser_scan_to_next_token` (no tabs or BOM here).
    fn scan_to_next_token(&mut self) {
        let b = self.b;
        loop {
            while self.pos < b.len() && b[self.pos] == b' ' {
                self.pos += 1;
            }
            if self.pos < b.len() && b[self.pos] == b'#' {
                self.pos = match memchr(b'\n', &b[self.pos..]) {
                    Some(i) => self.pos + i,
                    None => b.len(),
                };
            }
            if self.pos < b.len() && b[self.pos] == b'\n' {
                self.pos += 1;
                self.line += 1;
                self.line_start = self.pos;
                if self.flow_level == 0 {
                    self.simple_key_allowed = true;
                }
            } else {
                return;
            }
        }
    }

    fn unroll_indent(&mut self, column: i64, mark: Mark) {
        if self.flow_level > 0 {
            return;
        }
        while self.indent > column {
            self.push(Tok::BlockEnd, mark, mark);
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    /// `yaml_parser_roll_indent`: a new block collection starts at `column`
    /// (its start token goes at token index `at`, or at the end).
    fn roll_indent(&mut self, column: i64, at: Option<usize>, kind: Tok, mark: Mark) {
        if self.flow_level > 0 || self.indent >= column {
            return;
        }
        self.indents.push(self.indent);
        self.indent = column;
        let token = Token {
            kind,
            start: mark,
            end: mark,
            value: String::new(),
            style: ScalarStyle::Plain,
        };
        match at {
            Some(i) => self.tokens.insert(i, token),
            None => self.tokens.push_back(token),
        }
    }

    fn stream_end(&mut self, mut m: Mark) {
        if m.column != 0 {
            m.column = 0;
            m.line += 1;
        }
        self.unroll_indent(-1, m);
        self.simple_key_allowed = false;
        self.done = true;
        self.push(Tok::StreamEnd, m, m);
    }

    /// `yaml_parser_save_simple_key` for a scalar about to be scanned:
    /// `Some(Some(required))` when it may be a simple key, `Some(None)`
    /// when not.
    fn save_simple_key(&self, m: Mark) -> Option<Option<bool>> {
        if !self.simple_key_allowed {
            return Some(None);
        }
        let required = self.flow_level == 0 && self.indent == m.column as i64;
        Some(Some(required))
    }

    /// Queue a scalar token; if it may be a simple key and a `:` follows on
    /// the same line, queue it as a key (with the mapping start it opens)
    /// and the value indicator.
    fn scalar_token(
        &mut self,
        value: String,
        style: ScalarStyle,
        start: Mark,
        start_pos: usize,
        key: Option<bool>,
    ) -> Option<()> {
        let end = self.mark();
        let Some(required) = key else {
            self.push_scalar(value, style, start, end);
            return Some(());
        };
        // Look for the value indicator after blanks on the same line.
        let b = self.b;
        let mut p = self.pos;
        while p < b.len() && b[p] == b' ' {
            p += 1;
        }
        let is_value = p < b.len() && b[p] == b':' && (self.flow_level > 0 || self.blankz(p + 1));
        if !is_value {
            if required {
                // libyaml: "could not find expected ':'".
                return None;
            }
            self.push_scalar(value, style, start, end);
            return Some(());
        }
        if p - start_pos > MAX_KEY_LEN {
            return None;
        }
        let at = self.tokens.len();
        self.push(Tok::Key, start, start);
        self.push_scalar(value, style, start, end);
        self.roll_indent(start.column as i64, Some(at), Tok::BlockMappingStart, start);
        self.simple_key_allowed = false;
        self.pos = p;
        self.push_char_token(Tok::Value);
        Some(())
    }

    fn flow_collection_start(&mut self, kind: Tok, m: Mark) -> Option<()> {
        // A flow collection as a required simple key (at the indentation
        // of a block mapping) is an error or a complex key: bail.
        if let Some(true) = self.save_simple_key(m)? {
            return None;
        }
        self.flow_level += 1;
        self.simple_key_allowed = true;
        self.push_char_token(kind);
        Some(())
    }

    fn flow_collection_end(&mut self, kind: Tok) -> Option<()> {
        if self.flow_level == 0 {
            return None;
        }
        self.flow_level -= 1;
        self.simple_key_allowed = false;
        self.push_char_token(kind);
        Some(())
    }

    /// `yaml_parser_scan_plain_scalar` for one-line scalars: the value and
    /// whether a line break followed it. Multi-line scalars bail.
    fn plain_scalar(&mut self) -> Option<(String, bool)> {
        let b = self.b;
        let len = b.len();
        let flow = self.flow_level > 0;
        let start = self.pos;
        let mut p = start;
        let mut end = start;
        loop {
            // Non-blank characters.
            while p < len && b[p] != b' ' && b[p] != b'\n' {
                let c = b[p];
                if flow
                    && c == b':'
                    && matches!(self.at(p + 1), b',' | b'?' | b'[' | b']' | b'{' | b'}')
                {
                    return None;
                }
                if (c == b':' && self.blankz(p + 1)) || (flow && is_flow_indicator(c)) {
                    break;
                }
                p += 1;
                end = p;
            }
            if p >= len || (b[p] != b' ' && b[p] != b'\n') {
                break;
            }
            // Blanks and breaks.
            let mut q = p;
            let mut line_start = self.line_start;
            let mut broke = false;
            while q < len && (b[q] == b' ' || b[q] == b'\n') {
                if b[q] == b'\n' {
                    broke = true;
                    line_start = q + 1;
                }
                q += 1;
            }
            if broke {
                // The scalar continues on the next line unless that line
                // is less indented, a comment, the end, or an indicator.
                let column = self.column_of(line_start, q);
                let ends = (!flow && (column as i64) < self.indent + 1)
                    || q >= len
                    || (column == 0 && self.document_indicator(q))
                    || b[q] == b'#'
                    || (b[q] == b':' && self.blankz(q + 1))
                    || (flow && is_flow_indicator(b[q]));
                if !ends {
                    return None;
                }
                let value = self.src[start..end].to_string();
                self.pos = end;
                return Some((value, true));
            }
            if q >= len
                || b[q] == b'#'
                || (b[q] == b':' && self.blankz(q + 1))
                || (flow && is_flow_indicator(b[q]))
            {
                break;
            }
            p = q;
        }
        let value = self.src[start..end].to_string();
        self.pos = end;
        Some((value, false))
    }

    /// `yaml_parser_scan_flow_scalar` for one-line scalars.
    fn quoted_scalar(&mut self, single: bool) -> Option<String> {
        let b = self.b;
        let len = b.len();
        let mut p = self.pos + 1;
        let mut out = String::new();
        loop {
            let seg = p;
            while p < len && !matches!(b[p], b'\'' | b'"' | b'\\' | b'\n') {
                p += 1;
            }
            out.push_str(&self.src[seg..p]);
            if p >= len || b[p] == b'\n' {
                return None;
            }
            match b[p] {
                b'\'' if single => {
                    if self.at(p + 1) == b'\'' {
                        out.push('\'');
                        p += 2;
                    } else {
                        break;
                    }
                }
                b'"' if !single => break,
                b'\\' if !single => {
                    let (c, width) = escape(&b[p + 1..])?;
                    out.push(c);
                    p += 1 + width;
                }
                other => {
                    out.push(other as char);
                    p += 1;
                }
            }
        }
        self.pos = p + 1;
        Some(out)
    }

    /// `yaml_parser_scan_block_scalar`.
    fn block_scalar(&mut self, literal: bool, start: Mark) -> Option<()> {
        let b = self.b;
        let len = b.len();
        let mut p = self.pos + 1;
        let mut chomping = 0i8;
        let mut increment = 0i64;
        match self.at(p) {
            c @ (b'+' | b'-') => {
                chomping = if c == b'+' { 1 } else { -1 };
                p += 1;
                if self.at(p).is_ascii_digit() {
                    if self.at(p) == b'0' {
                        return None;
                    }
                    increment = i64::from(self.at(p) - b'0');
                    p += 1;
                }
            }
            c @ b'1'..=b'9' => {
                increment = i64::from(c - b'0');
                p += 1;
                if let c @ (b'+' | b'-') = self.at(p) {
                    chomping = if c == b'+' { 1 } else { -1 };
                    p += 1;
                }
            }
            b'0' => return None,
            _ => {}
        }
        while p < len && b[p] == b' ' {
            p += 1;
        }
        if p < len && b[p] == b'#' {
            p = match memchr(b'\n', &b[p..]) {
                Some(i) => p + i,
                None => len,
            };
        }
        if p < len && b[p] != b'\n' {
            return None;
        }
        if p < len {
            p += 1;
            self.line += 1;
            self.line_start = p;
        }
        self.pos = p;
        let mut indent: i64 = 0;
        if increment != 0 {
            indent = if self.indent >= 0 {
                self.indent + increment
            } else {
                increment
            };
        }
        let mut out = String::new();
        let mut leading_break = false;
        let mut trailing_breaks = 0usize;
        let mut leading_blank = false;
        self.block_breaks(&mut indent, &mut trailing_breaks);
        while self.pos < len && self.column_of(self.line_start, self.pos) as i64 == indent {
            let trailing_blank = b[self.pos] == b' ';
            if !literal && leading_break && !leading_blank && !trailing_blank {
                if trailing_breaks == 0 {
                    out.push(' ');
                }
            } else if leading_break {
                out.push('\n');
            }
            leading_break = false;
            push_breaks(&mut out, trailing_breaks);
            trailing_breaks = 0;
            leading_blank = trailing_blank;
            let from = self.pos;
            let to = match memchr(b'\n', &b[from..]) {
                Some(i) => from + i,
                None => len,
            };
            out.push_str(&self.src[from..to]);
            self.pos = to;
            if to < len {
                leading_break = true;
                self.pos += 1;
                self.line += 1;
                self.line_start = self.pos;
            }
            self.block_breaks(&mut indent, &mut trailing_breaks);
        }
        if chomping != -1 && leading_break {
            out.push('\n');
        }
        if chomping == 1 {
            push_breaks(&mut out, trailing_breaks);
        }
        let style = if literal {
            ScalarStyle::Literal
        } else {
            ScalarStyle::Folded
        };
        let end = self.mark();
        self.push_scalar(out, style, start, end);
        Some(())
    }

    /// `yaml_parser_scan_block_scalar_breaks`: eat indentation and empty
    /// lines, fixing the indentation if it is still 0.
    fn block_breaks(&mut self, indent: &mut i64, breaks: &mut usize) {
        let b = self.b;
        let len = b.len();
        let mut max_indent: i64 = 0;
        loop {
            // Spaces never straddle a line start, so the column is the
            // number of bytes since the line start when this loop runs
            // from a line start; the first call may start mid-line only
            // at the end of the input.
            while (*indent == 0 || (self.column_of(self.line_start, self.pos) as i64) < *indent)
                && self.pos < len
                && b[self.pos] == b' '
            {
                self.pos += 1;
            }
            let column = self.column_of(self.line_start, self.pos) as i64;
            if column > max_indent {
                max_indent = column;
            }
            if self.pos < len && b[self.pos] == b'\n' {
                *breaks += 1;
                self.pos += 1;
                self.line += 1;
                self.line_start = self.pos;
            } else {
                break;
            }
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
    }
}

fn push_breaks(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\n');
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

/// A double-quoted escape after its backslash: the character and how many
/// bytes the escape takes after the backslash. `None` for anything libyaml
/// rejects (or a backslash before a line break).
fn escape(rest: &[u8]) -> Option<(char, usize)> {
    let c = match rest.first()? {
        b'0' => '\0',
        b'a' => '\x07',
        b'b' => '\x08',
        b't' => '\t',
        b'n' => '\n',
        b'v' => '\x0b',
        b'f' => '\x0c',
        b'r' => '\r',
        b'e' => '\x1b',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' | b'u' | b'U' => {
            let n = match rest[0] {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let digits = rest.get(1..1 + n)?;
            let mut value: u32 = 0;
            for &d in digits {
                value = (value << 4) | (d as char).to_digit(16)?;
            }
            return Some((char::from_u32(value)?, 1 + n));
        }
        _ => return None,
    };
    Some((c, 1))
}

/// The parser states of libyaml used here.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    StreamStart,
    ImplicitDocumentStart,
    DocumentStart,
    DocumentEnd,
    BlockNode,
    BlockSequenceFirstEntry,
    BlockSequenceEntry,
    IndentlessSequenceEntry,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingValue,
    FlowSequenceFirstEntry,
    FlowSequenceEntry,
    FlowSequenceEntryMappingKey,
    FlowSequenceEntryMappingValue,
    FlowSequenceEntryMappingEnd,
    FlowMappingFirstKey,
    FlowMappingKey,
    FlowMappingValue,
    FlowMappingEmptyValue,
    End,
}

/// libyaml's parser over the scanner's tokens: events, or `None` on a
/// scanner or parser error.
fn parse(scanner: Scanner<'_>, capacity: usize) -> Option<Vec<Event>> {
    let mut p = Parser {
        s: scanner,
        state: State::StreamStart,
        states: Vec::new(),
        events: Vec::with_capacity(capacity),
    };
    while p.state != State::End {
        p.step()?;
    }
    Some(p.events)
}

struct Parser<'a> {
    s: Scanner<'a>,
    state: State,
    states: Vec<State>,
    events: Vec<Event>,
}

/// A token without its value.
#[derive(Clone, Copy)]
struct Peeked {
    kind: Tok,
    start: Mark,
    end: Mark,
}

fn empty_scalar() -> EventKind {
    EventKind::Scalar {
        anchor: None,
        tag: None,
        value: String::new(),
        style: ScalarStyle::Plain,
        plain_implicit: true,
    }
}

impl Parser<'_> {
    /// The next token (scanning more if needed), `None` on a scanner error.
    fn front(&mut self) -> Option<&mut Token> {
        while self.s.tokens.is_empty() {
            if self.s.done {
                return None;
            }
            self.s.fetch()?;
        }
        self.s.tokens.front_mut()
    }

    fn peek(&mut self) -> Option<Peeked> {
        self.front().map(|t| Peeked {
            kind: t.kind,
            start: t.start,
            end: t.end,
        })
    }

    fn peek_kind(&mut self) -> Option<Tok> {
        self.peek().map(|t| t.kind)
    }

    fn skip(&mut self) {
        self.s.tokens.pop_front();
    }

    fn emit(&mut self, kind: EventKind, start: Mark) {
        self.events.push(Event { kind, start });
    }

    fn pop_state(&mut self) -> Option<()> {
        self.state = self.states.pop()?;
        Some(())
    }

    fn empty(&mut self, mark: Mark) {
        self.emit(empty_scalar(), mark);
    }

    fn step(&mut self) -> Option<()> {
        match self.state {
            State::StreamStart => {
                let t = self.peek()?;
                if t.kind != Tok::StreamStart {
                    return None;
                }
                let m = t.start;
                self.emit(EventKind::StreamStart, m);
                self.skip();
                self.state = State::ImplicitDocumentStart;
            }
            State::ImplicitDocumentStart | State::DocumentStart => {
                let implicit = self.state == State::ImplicitDocumentStart;
                let t = self.peek()?;
                let m = t.start;
                if t.kind == Tok::StreamEnd {
                    self.emit(EventKind::StreamEnd, m);
                    self.skip();
                    self.state = State::End;
                } else if implicit {
                    self.emit(EventKind::DocumentStart, m);
                    self.states.push(State::DocumentEnd);
                    self.state = State::BlockNode;
                } else {
                    // A second document without `---`: an error.
                    return None;
                }
            }
            State::DocumentEnd => {
                let m = self.peek()?.start;
                self.emit(EventKind::DocumentEnd, m);
                self.state = State::DocumentStart;
            }
            State::BlockNode => self.node(true, false)?,
            State::BlockSequenceFirstEntry | State::BlockSequenceEntry => {
                if self.state == State::BlockSequenceFirstEntry {
                    self.skip();
                }
                let t = self.peek()?;
                let (kind, start, end) = (t.kind, t.start, t.end);
                match kind {
                    Tok::BlockEntry => {
                        self.skip();
                        match self.peek_kind()? {
                            Tok::BlockEntry | Tok::BlockEnd => {
                                self.state = State::BlockSequenceEntry;
                                self.empty(end);
                            }
                            _ => {
                                self.states.push(State::BlockSequenceEntry);
                                self.node(true, false)?;
                            }
                        }
                    }
                    Tok::BlockEnd => {
                        self.pop_state()?;
                        self.emit(EventKind::SequenceEnd, start);
                        self.skip();
                    }
                    _ => return None,
                }
            }
            State::IndentlessSequenceEntry => {
                let t = self.peek()?;
                let (is_entry, start, end) = (t.kind == Tok::BlockEntry, t.start, t.end);
                if is_entry {
                    self.skip();
                    match self.peek_kind()? {
                        Tok::BlockEntry | Tok::Key | Tok::Value | Tok::BlockEnd => {
                            self.state = State::IndentlessSequenceEntry;
                            self.empty(end);
                        }
                        _ => {
                            self.states.push(State::IndentlessSequenceEntry);
                            self.node(true, false)?;
                        }
                    }
                } else {
                    self.pop_state()?;
                    self.emit(EventKind::SequenceEnd, start);
                }
            }
            State::BlockMappingFirstKey | State::BlockMappingKey => {
                if self.state == State::BlockMappingFirstKey {
                    self.skip();
                }
                let t = self.peek()?;
                let (kind, start, end) = (t.kind, t.start, t.end);
                match kind {
                    Tok::Key => {
                        self.skip();
                        match self.peek_kind()? {
                            Tok::Key | Tok::Value | Tok::BlockEnd => {
                                self.state = State::BlockMappingValue;
                                self.empty(end);
                            }
                            _ => {
                                self.states.push(State::BlockMappingValue);
                                self.node(true, true)?;
                            }
                        }
                    }
                    Tok::BlockEnd => {
                        self.pop_state()?;
                        self.emit(EventKind::MappingEnd, start);
                        self.skip();
                    }
                    _ => return None,
                }
            }
            State::BlockMappingValue => {
                let t = self.peek()?;
                let (is_value, start, end) = (t.kind == Tok::Value, t.start, t.end);
                if is_value {
                    self.skip();
                    match self.peek_kind()? {
                        Tok::Key | Tok::Value | Tok::BlockEnd => {
                            self.state = State::BlockMappingKey;
                            self.empty(end);
                        }
                        _ => {
                            self.states.push(State::BlockMappingKey);
                            self.node(true, true)?;
                        }
                    }
                } else {
                    self.state = State::BlockMappingKey;
                    self.empty(start);
                }
            }
            State::FlowSequenceFirstEntry | State::FlowSequenceEntry => {
                let first = self.state == State::FlowSequenceFirstEntry;
                if first {
                    self.skip();
                }
                let mut t = self.peek()?;
                if t.kind != Tok::FlowSequenceEnd {
                    if !first {
                        if t.kind == Tok::FlowEntry {
                            self.skip();
                            t = self.peek()?;
                        } else {
                            return None;
                        }
                    }
                    if t.kind == Tok::Key {
                        let m = t.start;
                        self.state = State::FlowSequenceEntryMappingKey;
                        self.emit(
                            EventKind::MappingStart {
                                anchor: None,
                                tag: None,
                            },
                            m,
                        );
                        self.skip();
                        return Some(());
                    } else if t.kind != Tok::FlowSequenceEnd {
                        self.states.push(State::FlowSequenceEntry);
                        return self.node(false, false);
                    }
                }
                let m = t.start;
                self.pop_state()?;
                self.emit(EventKind::SequenceEnd, m);
                self.skip();
            }
            State::FlowSequenceEntryMappingKey => {
                let t = self.peek()?;
                match t.kind {
                    Tok::Value | Tok::FlowEntry | Tok::FlowSequenceEnd => {
                        let m = t.end;
                        self.skip();
                        self.state = State::FlowSequenceEntryMappingValue;
                        self.empty(m);
                    }
                    _ => {
                        self.states.push(State::FlowSequenceEntryMappingValue);
                        self.node(false, false)?;
                    }
                }
            }
            State::FlowSequenceEntryMappingValue => {
                let mut t = self.peek()?;
                if t.kind == Tok::Value {
                    self.skip();
                    t = self.peek()?;
                    if t.kind != Tok::FlowEntry && t.kind != Tok::FlowSequenceEnd {
                        self.states.push(State::FlowSequenceEntryMappingEnd);
                        return self.node(false, false);
                    }
                }
                let m = t.start;
                self.state = State::FlowSequenceEntryMappingEnd;
                self.empty(m);
            }
            State::FlowSequenceEntryMappingEnd => {
                let m = self.peek()?.start;
                self.state = State::FlowSequenceEntry;
                self.emit(EventKind::MappingEnd, m);
            }
            State::FlowMappingFirstKey | State::FlowMappingKey => {
                let first = self.state == State::FlowMappingFirstKey;
                if first {
                    self.skip();
                }
                let mut t = self.peek()?;
                if t.kind != Tok::FlowMappingEnd {
                    if !first {
                        if t.kind == Tok::FlowEntry {
                            self.skip();
                            t = self.peek()?;
                        } else {
                            return None;
                        }
                    }
                    if t.kind == Tok::Key {
                        self.skip();
                        let t = self.peek()?;
                        match t.kind {
                            Tok::Value | Tok::FlowEntry | Tok::FlowMappingEnd => {
                                let m = t.start;
                                self.state = State::FlowMappingValue;
                                self.empty(m);
                                return Some(());
                            }
                            _ => {
                                self.states.push(State::FlowMappingValue);
                                return self.node(false, false);
                            }
                        }
                    } else if t.kind != Tok::FlowMappingEnd {
                        self.states.push(State::FlowMappingEmptyValue);
                        return self.node(false, false);
                    }
                }
                let m = t.start;
                self.pop_state()?;
                self.emit(EventKind::MappingEnd, m);
                self.skip();
            }
            State::FlowMappingValue | State::FlowMappingEmptyValue => {
                let mut t = self.peek()?;
                if self.state == State::FlowMappingEmptyValue {
                    let m = t.start;
                    self.state = State::FlowMappingKey;
                    self.empty(m);
                    return Some(());
                }
                if t.kind == Tok::Value {
                    self.skip();
                    t = self.peek()?;
                    if t.kind != Tok::FlowEntry && t.kind != Tok::FlowMappingEnd {
                        self.states.push(State::FlowMappingKey);
                        return self.node(false, false);
                    }
                }
                let m = t.start;
                self.state = State::FlowMappingKey;
                self.empty(m);
            }
            State::End => {}
        }
        Some(())
    }

    /// `yaml_parser_parse_node` without anchors and tags.
    fn node(&mut self, block: bool, indentless_sequence: bool) -> Option<()> {
        let t = self.front()?;
        let start = t.start;
        let kind = t.kind;
        let value = if kind == Tok::Scalar {
            std::mem::take(&mut t.value)
        } else {
            String::new()
        };
        let style = t.style;
        let collection = EventKind::SequenceStart {
            anchor: None,
            tag: None,
        };
        let mapping = EventKind::MappingStart {
            anchor: None,
            tag: None,
        };
        match kind {
            Tok::BlockEntry if indentless_sequence => {
                self.state = State::IndentlessSequenceEntry;
                self.emit(collection, start);
            }
            Tok::Scalar => {
                self.pop_state()?;
                self.emit(
                    EventKind::Scalar {
                        anchor: None,
                        tag: None,
                        value,
                        style,
                        plain_implicit: style == ScalarStyle::Plain,
                    },
                    start,
                );
                self.skip();
            }
            Tok::FlowSequenceStart => {
                self.state = State::FlowSequenceFirstEntry;
                self.emit(collection, start);
            }
            Tok::FlowMappingStart => {
                self.state = State::FlowMappingFirstKey;
                self.emit(mapping, start);
            }
            Tok::BlockSequenceStart if block => {
                self.state = State::BlockSequenceFirstEntry;
                self.emit(collection, start);
            }
            Tok::BlockMappingStart if block => {
                self.state = State::BlockMappingFirstKey;
                self.emit(mapping, start);
            }
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
