//! `file` execution functions for editing files in place and links
//! (salt/modules/file.py): replace, line, blockreplace, append, prepend,
//! comment_line (comment, uncomment), touch, symlink, is_link, readlink,
//! search, contains, contains_regex. Registered under the `file` module
//! name beside [`super::file`]; the `file` edit states
//! ([`crate::states::file::edit`]) call the pub Rust functions directly.
//!
//! Python's `re` is emulated on the `regex` crate: [`PyRegex`] translates
//! the common syntax differences (`\Z`, literal `{`, `[` inside classes,
//! `\uXXXX`, inline `a`/`L`/`u` flags, Python's replacement templates with
//! `\1`/`\g<name>`, Python's empty-match rules in `sub`), and refuses the
//! constructs the crate cannot do (look-around, backreferences, atomic
//! groups, possessive quantifiers) with a clear error. Patterns run over
//! bytes as Salt's `replace`/`search` do (ASCII classes), or over text
//! (Unicode classes) where Salt matches `str` lines.
//!
//! Every write goes through [`brine_core::fsutil::write_atomic`], keeping
//! the file's mode and owner.

use super::file::{expanduser, is_text, unified_diff};
use super::{bind, invocation_error, Context, ModFn};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("replace", mod_replace),
    ("line", mod_line),
    ("blockreplace", mod_blockreplace),
    ("comment_line", mod_comment_line),
    ("comment", mod_comment),
    ("uncomment", mod_uncomment),
    ("append", mod_append),
    ("prepend", mod_prepend),
    ("touch", mod_touch),
    ("symlink", mod_symlink),
    ("is_link", mod_is_link),
    ("readlink", mod_readlink),
    ("search", mod_search),
    ("contains", mod_contains),
    ("contains_regex", mod_contains_regex),
];

/// An error from an edit function, in Salt's two kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// `SaltInvocationError` (bad arguments, missing file).
    #[error("{0}")]
    Invocation(String),
    /// `CommandExecutionError`.
    #[error("{0}")]
    Execution(String),
}

impl EditError {
    /// The [`ModFn`] error string (kind markers as [`super::classify`] reads).
    pub fn into_mod(self) -> String {
        match self {
            EditError::Invocation(m) => invocation_error(m),
            EditError::Execution(m) => m,
        }
    }
    /// The bare message.
    pub fn message(&self) -> &str {
        match self {
            EditError::Invocation(m) | EditError::Execution(m) => m,
        }
    }
}

fn exec(msg: impl Into<String>) -> EditError {
    EditError::Execution(msg.into())
}

fn inval(msg: impl Into<String>) -> EditError {
    EditError::Invocation(msg.into())
}

/// Python's `str(OSError)`: `[Errno N] strerror: 'path'`.
pub fn py_oserror(e: &std::io::Error, path: &str) -> String {
    match e.raw_os_error() {
        Some(n) => {
            // SAFETY: strerror returns a valid NUL-terminated static string.
            let msg = unsafe { std::ffi::CStr::from_ptr(libc::strerror(n)) }
                .to_string_lossy()
                .into_owned();
            format!("[Errno {n}] {msg}: '{path}'")
        }
        None => format!("{e}: '{path}'"),
    }
}

// ---------------------------------------------------------------------------
// Python `re` on the regex crate
// ---------------------------------------------------------------------------

/// `re.IGNORECASE`.
pub const RE_I: u32 = 2;
/// `re.LOCALE`.
pub const RE_L: u32 = 4;
/// `re.MULTILINE`.
pub const RE_M: u32 = 8;
/// `re.DOTALL`.
pub const RE_S: u32 = 16;
/// `re.UNICODE`.
pub const RE_U: u32 = 32;
/// `re.VERBOSE`.
pub const RE_X: u32 = 64;
/// `re.DEBUG`.
pub const RE_DEBUG: u32 = 128;
/// `re.ASCII`.
pub const RE_A: u32 = 256;

/// `_get_flags`: an int, a flag name, or a list of names to flag bits.
pub fn get_flags(flags: &Value) -> Result<u32, EditError> {
    let names: Vec<Value> = match flags {
        Value::Int(i) => return Ok(*i as u32),
        Value::Bool(b) => return Ok(*b as u32),
        Value::Str(_) => vec![flags.clone()],
        Value::List(l) => l.clone(),
        other => {
            return Err(exec(format!(
                "Invalid re flags: \"{}\", must be given either as a single flag string, a list \
                 of strings, as an integer, or as an re flag",
                str_of(other)
            )))
        }
    };
    let mut bits = 0;
    for f in names {
        let name = str_of(&f).to_uppercase();
        let bit = match name.as_str() {
            "I" | "IGNORECASE" => RE_I,
            "L" | "LOCALE" => RE_L,
            "M" | "MULTILINE" => RE_M,
            "S" | "DOTALL" => RE_S,
            "U" | "UNICODE" => RE_U,
            "X" | "VERBOSE" => RE_X,
            "A" | "ASCII" => RE_A,
            "DEBUG" => RE_DEBUG,
            _ => return Err(exec(format!("Invalid re flag given: {}", str_of(&f)))),
        };
        bits |= bit;
    }
    Ok(bits)
}

/// A Python regular expression compiled for the regex crate.
#[derive(Debug, Clone)]
pub struct PyRegex {
    pub re: regex::bytes::Regex,
}

/// How a pattern is used, for the one thing the crate cannot express:
/// Python's non-MULTILINE `$` also matches before a final newline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Only whether it matches: `$` becomes `\n?\z` (consuming is harmless).
    Test,
    /// Substitution: `$` is the end of the text only.
    Substitute,
}

fn hex_digits(chars: &[char], from: usize, n: usize) -> Option<u32> {
    let s: String = chars.get(from..from + n)?.iter().collect();
    if s.chars().all(|c| c.is_ascii_hexdigit()) {
        u32::from_str_radix(&s, 16).ok()
    } else {
        None
    }
}

fn is_oct(c: Option<&char>) -> bool {
    matches!(c, Some('0'..='7'))
}

/// Translate one escape at `chars[i]` (a backslash); returns the crate
/// syntax and how many chars were consumed.
fn translate_escape(
    chars: &[char],
    i: usize,
    in_class: bool,
    bytes: bool,
) -> Result<(String, usize), String> {
    let Some(&c) = chars.get(i + 1) else {
        return Err("bad escape (end of pattern)".into());
    };
    let lit = |cp: u32| format!("\\x{{{cp:x}}}");
    Ok(match c {
        'A' if !in_class => ("\\A".into(), 2),
        'Z' if !in_class => ("\\z".into(), 2),
        'b' if in_class => (lit(8), 2),
        'b' | 'B' if !in_class => (format!("\\{c}"), 2),
        'd' | 'D' | 's' | 'S' | 'w' | 'W' | 'n' | 't' | 'r' => (format!("\\{c}"), 2),
        'f' => (lit(0x0c), 2),
        'v' => (lit(0x0b), 2),
        'a' => (lit(7), 2),
        'x' => match hex_digits(chars, i + 2, 2) {
            Some(cp) => (lit(cp), 4),
            None => return Err(format!("incomplete escape \\x at position {i}")),
        },
        'u' | 'U' if !bytes => {
            let n = if c == 'u' { 4 } else { 8 };
            match hex_digits(chars, i + 2, n) {
                Some(cp) => (lit(cp), 2 + n),
                None => return Err(format!("incomplete escape \\{c} at position {i}")),
            }
        }
        '0'..='7' => {
            // Octal: `\0`, `\0o`, `\0oo`, or three octal digits; otherwise
            // (outside a class) a backreference.
            let d1 = chars.get(i + 2);
            let d2 = chars.get(i + 3);
            if c == '0' || in_class {
                let mut s = String::from(c);
                if is_oct(d1) {
                    s.push(*d1.unwrap_or(&'0'));
                    if is_oct(d2) {
                        s.push(*d2.unwrap_or(&'0'));
                    }
                }
                let n = s.len();
                let cp = u32::from_str_radix(&s, 8).unwrap_or(0);
                (lit(cp), 1 + n)
            } else if is_oct(d1) && is_oct(d2) {
                let s: String = [c, *d1.unwrap_or(&'0'), *d2.unwrap_or(&'0')]
                    .iter()
                    .collect();
                (lit(u32::from_str_radix(&s, 8).unwrap_or(0)), 4)
            } else {
                return Err(format!(
                    "backreferences (\\{c}) are not supported by Brine's regex engine"
                ));
            }
        }
        '8' | '9' if !in_class => {
            return Err(format!(
                "backreferences (\\{c}) are not supported by Brine's regex engine"
            ))
        }
        c if c.is_ascii_alphanumeric() => return Err(format!("bad escape \\{c} at position {i}")),
        c if c.is_ascii() => (lit(c as u32), 2),
        c => (c.to_string(), 2),
    })
}

/// Python `re` syntax to regex-crate syntax. `multiline` tells how `$`
/// reads; an inline global `(?m)` turns it on.
fn translate(
    pattern: &str,
    mut multiline: bool,
    bytes: bool,
    usage: Use,
) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let unsupported = |what: &str, at: usize| {
        Err(format!(
            "{what} at position {at} is not supported by Brine's regex engine"
        ))
    };
    let mut out = String::new();
    let mut i = 0;
    let mut in_class = false;
    let mut class_first = 0;
    // Whether the previous item can take a quantifier (for `{`).
    let mut repeatable = false;
    while i < chars.len() {
        let c = chars[i];
        if in_class {
            match c {
                ']' if i > class_first => {
                    out.push(']');
                    in_class = false;
                    repeatable = true;
                    i += 1;
                }
                ']' => {
                    out.push_str("\\]");
                    i += 1;
                }
                '\\' => {
                    let (s, n) = translate_escape(&chars, i, true, bytes)?;
                    out.push_str(&s);
                    i += n;
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                    i += 1;
                }
                '-' if chars.get(i + 1) == Some(&'-') => {
                    out.push('-');
                    out.push_str("\\-");
                    i += 2;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
            continue;
        }
        match c {
            '\\' => {
                let (s, n) = translate_escape(&chars, i, false, bytes)?;
                out.push_str(&s);
                i += n;
                repeatable = true;
            }
            '[' => {
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_first = i;
                in_class = true;
            }
            '(' => {
                repeatable = false;
                if chars.get(i + 1) != Some(&'?') {
                    out.push('(');
                    i += 1;
                    continue;
                }
                let rest: String = chars[i + 2..].iter().take(3).collect();
                if rest.starts_with(':') {
                    out.push_str("(?:");
                    i += 3;
                } else if rest.starts_with("P<") {
                    out.push_str("(?P<");
                    i += 4;
                } else if rest.starts_with("P=") {
                    return unsupported("a named backreference (?P=...)", i);
                } else if rest.starts_with("<=") || rest.starts_with("<!") {
                    return unsupported("a lookbehind assertion", i);
                } else if rest.starts_with('=') || rest.starts_with('!') {
                    return unsupported("a lookahead assertion", i);
                } else if rest.starts_with('>') {
                    return unsupported("an atomic group", i);
                } else if rest.starts_with('(') {
                    return unsupported("a conditional group", i);
                } else if rest.starts_with('#') {
                    // A comment: skip to the closing parenthesis.
                    while i < chars.len() && chars[i] != ')' {
                        i += 1;
                    }
                    i += 1;
                    repeatable = false;
                } else {
                    // Inline flags `(?imsx)` or `(?i-s:...)`.
                    let mut j = i + 2;
                    let mut on = String::new();
                    let mut off = String::new();
                    let mut neg = false;
                    while let Some(&f) = chars.get(j) {
                        match f {
                            'a' | 'i' | 'L' | 'm' | 's' | 'u' | 'x' => {
                                if "ims".contains(f) || (f == 'x' && !neg) {
                                    if neg {
                                        off.push(f)
                                    } else {
                                        on.push(f)
                                    }
                                }
                            }
                            '-' => neg = true,
                            _ => break,
                        }
                        j += 1;
                    }
                    let flags = if off.is_empty() {
                        on.clone()
                    } else {
                        format!("{on}-{off}")
                    };
                    match chars.get(j) {
                        Some(')') => {
                            if on.contains('m') {
                                multiline = true;
                            }
                            if !flags.is_empty() {
                                out.push_str(&format!("(?{flags})"));
                            }
                            i = j + 1;
                        }
                        Some(':') => {
                            out.push_str(&format!("(?{flags}:"));
                            i = j + 1;
                        }
                        _ => return Err(format!("unknown extension ?{rest} at position {i}")),
                    }
                }
            }
            ')' => {
                out.push(')');
                i += 1;
                repeatable = true;
            }
            '{' => {
                // A quantifier `{m}`, `{m,}`, `{,n}`, `{m,n}`, else a literal.
                let mut j = i + 1;
                let mut lo = String::new();
                let mut hi = String::new();
                while let Some(d) = chars.get(j).filter(|d| d.is_ascii_digit()) {
                    lo.push(*d);
                    j += 1;
                }
                let comma = chars.get(j) == Some(&',');
                if comma {
                    j += 1;
                    while let Some(d) = chars.get(j).filter(|d| d.is_ascii_digit()) {
                        hi.push(*d);
                        j += 1;
                    }
                }
                let closed = chars.get(j) == Some(&'}');
                let empty = !comma && lo.is_empty();
                if closed && !empty && repeatable {
                    let lo = if lo.is_empty() { "0".to_string() } else { lo };
                    if comma {
                        out.push_str(&format!("{{{lo},{hi}}}"));
                    } else {
                        out.push_str(&format!("{{{lo}}}"));
                    }
                    i = j + 1;
                    if chars.get(i) == Some(&'+') {
                        return unsupported("a possessive quantifier", i);
                    }
                    repeatable = false;
                } else if closed && !empty {
                    return Err(format!("nothing to repeat at position {i}"));
                } else {
                    out.push_str("\\{");
                    i += 1;
                    repeatable = true;
                }
            }
            '}' => {
                out.push_str("\\}");
                i += 1;
                repeatable = true;
            }
            '*' | '+' | '?' => {
                out.push(c);
                i += 1;
                if chars.get(i) == Some(&'?') {
                    out.push('?');
                    i += 1;
                } else if chars.get(i) == Some(&'+') {
                    return unsupported("a possessive quantifier", i);
                }
                repeatable = false;
            }
            '$' => {
                if multiline {
                    out.push('$');
                } else {
                    match usage {
                        Use::Test => out.push_str("(?:\\n?\\z)"),
                        Use::Substitute => out.push_str("\\z"),
                    }
                }
                i += 1;
                repeatable = false;
            }
            '^' | '|' => {
                out.push(c);
                i += 1;
                repeatable = false;
            }
            _ => {
                out.push(c);
                i += 1;
                repeatable = true;
            }
        }
    }
    if in_class {
        return Err(format!(
            "unterminated character set at position {}",
            class_first.saturating_sub(1)
        ));
    }
    Ok(out)
}

impl PyRegex {
    /// Compile `pattern` with Python `flags`. `bytes`: a bytes pattern
    /// (Salt's `replace`/`search`: ASCII classes, `.` any byte).
    pub fn new(pattern: &str, flags: u32, bytes: bool, usage: Use) -> Result<PyRegex, String> {
        let translated = translate(pattern, flags & RE_M != 0, bytes, usage)?;
        let re = regex::bytes::RegexBuilder::new(&translated)
            .case_insensitive(flags & RE_I != 0)
            .multi_line(flags & RE_M != 0)
            .dot_matches_new_line(flags & RE_S != 0)
            .ignore_whitespace(flags & RE_X != 0)
            .unicode(!bytes && flags & RE_A == 0)
            .build()
            .map_err(|e| {
                // The crate's message draws the pattern over several lines;
                // keep its last line ("error: unclosed group").
                let msg = e.to_string();
                let last = msg.trim_end().lines().last().unwrap_or("").trim();
                last.strip_prefix("error: ").unwrap_or(last).to_string()
            })?;
        Ok(PyRegex { re })
    }

    /// `re.search(...)` is not None.
    pub fn is_match(&self, data: &[u8]) -> bool {
        self.re.is_match(data)
    }

    /// `re.match(...)`: a match starting at 0.
    pub fn is_match_start(&self, data: &[u8]) -> bool {
        // The leftmost match starts at 0 when any match does.
        self.re.find(data).is_some_and(|m| m.start() == 0)
    }
}

/// One piece of a Python replacement template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(Vec<u8>),
    Group(usize),
}

/// `sre_parse.parse_template`: `\1`, `\g<1>`, `\g<name>`, the escapes
/// `\n \t \r \a \b \f \v \\`, octal `\0..`; other non-letter escapes stay.
fn parse_template(repl: &[u8], re: &regex::bytes::Regex) -> Result<Vec<Piece>, String> {
    let ngroups = re.captures_len() - 1;
    let mut out: Vec<Piece> = Vec::new();
    let mut lit: Vec<u8> = Vec::new();
    let mut i = 0;
    let group =
        |n: usize, at: usize, out: &mut Vec<Piece>, lit: &mut Vec<u8>| -> Result<(), String> {
            if n > ngroups {
                return Err(format!(
                    "invalid group reference {n} at position {}",
                    at + 1
                ));
            }
            if !lit.is_empty() {
                out.push(Piece::Lit(std::mem::take(lit)));
            }
            out.push(Piece::Group(n));
            Ok(())
        };
    while i < repl.len() {
        let c = repl[i];
        if c != b'\\' {
            lit.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = repl.get(i + 1) else {
            return Err(format!("bad escape (end of pattern) at position {i}"));
        };
        match e {
            b'g' => {
                if repl.get(i + 2) != Some(&b'<') {
                    return Err(format!("missing < at position {}", i + 2));
                }
                let Some(close) = repl[i + 3..].iter().position(|b| *b == b'>') else {
                    return Err(format!(
                        "missing >, unterminated name at position {}",
                        i + 3
                    ));
                };
                let name = String::from_utf8_lossy(&repl[i + 3..i + 3 + close]).into_owned();
                let n = if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
                    name.parse::<usize>()
                        .map_err(|_| format!("invalid group reference {name}"))?
                } else {
                    re.capture_names()
                        .position(|n| n == Some(name.as_str()))
                        .ok_or_else(|| format!("unknown group name '{name}'"))?
                };
                group(n, i, &mut out, &mut lit)?;
                i += 3 + close + 1;
            }
            b'0' => {
                let mut j = i + 2;
                let mut s = String::new();
                while j < repl.len() && j < i + 4 && (b'0'..=b'7').contains(&repl[j]) {
                    s.push(repl[j] as char);
                    j += 1;
                }
                lit.push(u32::from_str_radix(&format!("0{s}"), 8).unwrap_or(0) as u8);
                i = j;
            }
            b'1'..=b'9' => {
                let d1 = repl.get(i + 2).copied();
                let d2 = repl.get(i + 3).copied();
                let oct = |b: Option<u8>| matches!(b, Some(b'0'..=b'7'));
                if d1.is_some_and(|d| d.is_ascii_digit()) {
                    if e <= b'7' && oct(d1) && oct(d2) {
                        let s: String = [e, d1.unwrap_or(b'0'), d2.unwrap_or(b'0')]
                            .iter()
                            .map(|b| *b as char)
                            .collect();
                        let v = u32::from_str_radix(&s, 8).unwrap_or(0);
                        if v > 0o377 {
                            return Err(format!(
                                "octal escape value \\{s} outside of range 0-0o377 at position {i}"
                            ));
                        }
                        lit.push(v as u8);
                        i += 4;
                    } else {
                        let n = ((e - b'0') * 10 + (d1.unwrap_or(b'0') - b'0')) as usize;
                        group(n, i, &mut out, &mut lit)?;
                        i += 3;
                    }
                } else {
                    group((e - b'0') as usize, i, &mut out, &mut lit)?;
                    i += 2;
                }
            }
            b'a' => {
                lit.push(7);
                i += 2;
            }
            b'b' => {
                lit.push(8);
                i += 2;
            }
            b'f' => {
                lit.push(12);
                i += 2;
            }
            b'n' => {
                lit.push(b'\n');
                i += 2;
            }
            b'r' => {
                lit.push(b'\r');
                i += 2;
            }
            b't' => {
                lit.push(b'\t');
                i += 2;
            }
            b'v' => {
                lit.push(11);
                i += 2;
            }
            b'\\' => {
                lit.push(b'\\');
                i += 2;
            }
            e if e.is_ascii_alphabetic() => {
                return Err(format!("bad escape \\{} at position {i}", e as char));
            }
            e => {
                lit.push(b'\\');
                lit.push(e);
                i += 2;
            }
        }
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Ok(out)
}

/// `re.subn(pattern, repl, data, count)` with Python 3.7+ empty-match
/// rules (an empty match right after a non-empty one counts).
pub fn subn(
    re: &PyRegex,
    repl: &[u8],
    data: &[u8],
    count: usize,
) -> Result<(Vec<u8>, usize), String> {
    let pieces = parse_template(repl, &re.re)?;
    let mut out = Vec::with_capacity(data.len());
    let mut pos = 0;
    let mut last_end = 0;
    let mut n = 0;
    let mut empty_at: Option<usize> = None;
    while (count == 0 || n < count) && pos <= data.len() {
        let Some(caps) = re.re.captures_at(data, pos) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        if m.start() == m.end() && empty_at == Some(m.start()) {
            pos = m.start() + 1;
            continue;
        }
        out.extend_from_slice(&data[last_end..m.start()]);
        for p in &pieces {
            match p {
                Piece::Lit(l) => out.extend_from_slice(l),
                Piece::Group(g) => {
                    if let Some(gm) = caps.get(*g) {
                        out.extend_from_slice(gm.as_bytes());
                    }
                }
            }
        }
        last_end = m.end();
        n += 1;
        if m.start() == m.end() {
            empty_at = Some(m.end());
        } else {
            empty_at = None;
        }
        pos = m.end();
    }
    out.extend_from_slice(&data[last_end..]);
    Ok((out, n))
}

/// `re.escape` for building patterns that go through [`PyRegex`].
pub fn py_re_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// Lines like Python
// ---------------------------------------------------------------------------

/// `bytes.splitlines(keepends=True)`: `\n`, `\r`, `\r\n`.
pub fn bytes_splitlines(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\n' => {
                out.push(data[start..=i].to_vec());
                start = i + 1;
            }
            b'\r' => {
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                out.push(data[start..=i].to_vec());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < data.len() {
        out.push(data[start..].to_vec());
    }
    out
}

fn is_str_linebreak(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// `str.splitlines(keepends)`.
pub fn str_splitlines(s: &str, keepends: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if !is_str_linebreak(c) {
            continue;
        }
        let mut end = i + c.len_utf8();
        if c == '\r' && it.peek().map(|(_, n)| *n) == Some('\n') {
            it.next();
            end += 1;
        }
        out.push(
            if keepends {
                &s[start..end]
            } else {
                &s[start..i]
            }
            .to_string(),
        );
        start = end;
    }
    if start < s.len() {
        out.push(s[start..].to_string());
    }
    out
}

/// Lines as a text-mode `readlines()` through Salt's `fopen` gives them
/// (`newline=""`: split after `\n`, `\r\n` or a lone `\r`, untranslated).
pub fn text_readlines(s: &str) -> Vec<String> {
    universal_lines_keep(s)
}

/// Lines as `open(newline="")` iterates them: split after `\n`, `\r\n` or
/// a lone `\r`, endings kept.
fn universal_lines_keep(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let end = match b[i] {
            b'\n' => Some(i + 1),
            b'\r' if b.get(i + 1) == Some(&b'\n') => Some(i + 2),
            b'\r' => Some(i + 1),
            _ => None,
        };
        if let Some(e) = end {
            out.push(s[start..e].to_string());
            start = e;
            i = e;
        } else {
            i += 1;
        }
    }
    if start < s.len() {
        out.push(s[start..].to_string());
    }
    out
}

fn decode(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => s.to_string(),
        Err(_) => String::from_utf8_lossy(data).into_owned(),
    }
}

/// `"".join(difflib.unified_diff(a, b))` over lines kept with endings.
pub fn diff_lines(a: &[String], b: &[String]) -> String {
    unified_diff(a, b, "", "", 3)
}

/// `"\n".join(difflib.unified_diff(a, b))` over lines without endings (as
/// `file.append` reports).
pub fn diff_lines_nl_joined(a: &[String], b: &[String]) -> String {
    let a: Vec<String> = a.iter().map(|l| format!("{l}\n")).collect();
    let b: Vec<String> = b.iter().map(|l| format!("{l}\n")).collect();
    let joined = unified_diff(&a, &b, "", "", 3);
    let items: Vec<String> = joined
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, l)| {
            if i < 2 || l.starts_with('@') {
                l.to_string()
            } else {
                l.strip_suffix('\n').unwrap_or(l).to_string()
            }
        })
        .collect();
    items.join("\n")
}

// ---------------------------------------------------------------------------
// Paths and writing
// ---------------------------------------------------------------------------

/// `os.path.normpath`.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let lead = if p.starts_with("//") && !p.starts_with("///") {
        "//"
    } else if p.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if !lead.is_empty() && parts.is_empty() {
                    continue;
                }
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let s = format!("{lead}{}", parts.join("/"));
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

/// `os.path.realpath` (resolves what exists, keeps the rest).
pub fn realpath(p: &str) -> String {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c.to_string_lossy().into_owned();
    }
    let path = Path::new(p);
    if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
        if let Ok(c) = std::fs::canonicalize(parent) {
            return c.join(name).to_string_lossy().into_owned();
        }
    }
    normpath(p)
}

fn lexists(p: &str) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// Replace `path`'s contents atomically, keeping its mode and owner.
pub fn write_keep(path: &str, data: &[u8]) -> Result<(), EditError> {
    let md = std::fs::metadata(path).ok();
    brine_core::fsutil::write_atomic(Path::new(path), data, None).map_err(|e| {
        exec(format!(
            "Unable to write file '{path}'. Exception: {}",
            py_oserror(&e, path)
        ))
    })?;
    if let Some(md) = md {
        let now = std::fs::metadata(path).ok();
        if now.is_some_and(|n| n.uid() != md.uid() || n.gid() != md.gid()) {
            let _ = std::os::unix::fs::chown(path, Some(md.uid()), Some(md.gid()));
            let _ = std::fs::set_permissions(
                path,
                std::os::unix::fs::PermissionsExt::from_mode(md.mode() & 0o7777),
            );
        }
    }
    Ok(())
}

/// Write a backup `path + suffix` holding `data` with `path`'s mode (what
/// Salt's temp-copy-then-move leaves); `keep_owner`: also its owner (where
/// Salt moves the original file or fixes the backup's ownership).
fn write_backup(path: &str, suffix: &str, data: &[u8], keep_owner: bool) -> Result<(), EditError> {
    let bak = format!("{path}{suffix}");
    let md = std::fs::metadata(path).ok();
    let mode = md.as_ref().map(|m| m.mode() & 0o7777);
    brine_core::fsutil::write_atomic(Path::new(&bak), data, mode).map_err(|e| {
        exec(format!(
            "Unable to move the temp file '{path}' to the backup file '{bak}'. Exception: {}",
            py_oserror(&e, &bak)
        ))
    })?;
    if let (true, Some(md)) = (keep_owner, md) {
        let _ = std::os::unix::fs::chown(&bak, Some(md.uid()), Some(md.gid()));
        if let Some(m) = mode {
            let _ = std::fs::set_permissions(&bak, std::os::unix::fs::PermissionsExt::from_mode(m));
        }
    }
    Ok(())
}

fn read(path: &str) -> Result<Vec<u8>, EditError> {
    std::fs::read(path).map_err(|e| {
        exec(format!(
            "Unable to open file '{path}'. Exception: {}",
            py_oserror(&e, path)
        ))
    })
}

/// A Salt `backup` argument: `False`/`None`/`""` is no backup.
pub fn backup_suffix(v: Option<&Value>, default: Option<&str>) -> Option<String> {
    match v {
        None => default.map(str::to_string),
        Some(Value::Null) | Some(Value::Bool(false)) => None,
        Some(v) => Some(str_of(v)).filter(|s| !s.is_empty()),
    }
}

// ---------------------------------------------------------------------------
// replace / search
// ---------------------------------------------------------------------------

/// Arguments of `file.replace`.
#[derive(Debug, Clone)]
pub struct ReplaceArgs {
    pub pattern: String,
    pub repl: String,
    pub count: usize,
    pub flags: u32,
    pub append_if_not_found: bool,
    pub prepend_if_not_found: bool,
    pub not_found_content: Option<String>,
    pub backup: Option<String>,
    pub dry_run: bool,
    pub search_only: bool,
    pub show_changes: bool,
    pub ignore_if_missing: bool,
    pub backslash_literal: bool,
}

impl ReplaceArgs {
    /// Salt's defaults for `pattern` -> `repl`.
    pub fn new(pattern: &str, repl: &str) -> ReplaceArgs {
        ReplaceArgs {
            pattern: pattern.into(),
            repl: repl.into(),
            count: 0,
            flags: RE_M,
            append_if_not_found: false,
            prepend_if_not_found: false,
            not_found_content: None,
            backup: Some(".bak".into()),
            dry_run: false,
            search_only: false,
            show_changes: true,
            ignore_if_missing: false,
            backslash_literal: false,
        }
    }
}

/// `file.replace`: the diff (show_changes), or whether it changed; for
/// `search_only`, whether the pattern is found.
pub fn replace(path: &str, a: &ReplaceArgs) -> Result<Value, EditError> {
    let given = expanduser(path);
    let symlink = is_link(&given);
    let path = realpath(&given);
    if !Path::new(&path).exists() {
        if a.ignore_if_missing {
            return Ok(Value::Bool(false));
        }
        return Err(inval(format!("File not found: {path}")));
    }
    let data = read(&path)?;
    if !is_text(&data) {
        return Err(inval(format!(
            "Cannot perform string replacements on a binary file: {path}"
        )));
    }
    if a.search_only && (a.append_if_not_found || a.prepend_if_not_found) {
        return Err(inval(
            "search_only cannot be used with append/prepend_if_not_found",
        ));
    }
    if a.append_if_not_found && a.prepend_if_not_found {
        return Err(inval(
            "Only one of append and prepend_if_not_found is permitted",
        ));
    }
    let cpattern = PyRegex::new(&a.pattern, a.flags, true, Use::Substitute)
        .map_err(|e| exec(format!("{e}: '{}'", a.pattern)))?;
    if a.search_only {
        return Ok(Value::Bool(cpattern.is_match(&data)));
    }
    let repl = if a.backslash_literal {
        a.repl.replace('\\', "\\\\")
    } else {
        a.repl.clone()
    };
    let (result, nrepl) = subn(&cpattern, repl.as_bytes(), &data, a.count).map_err(exec)?;
    let mut found = false;
    let mut has_changes = false;
    if nrepl > 0 {
        found = true;
        has_changes = a.pattern != a.repl;
    }
    let content = match &a.not_found_content {
        Some(c) if !c.is_empty() && (a.prepend_if_not_found || a.append_if_not_found) => c.clone(),
        _ => a.repl.clone(),
    };
    if a.prepend_if_not_found || a.append_if_not_found {
        let probe = format!("^{}(?:$|\\r\\n)", regex::escape(&content));
        let re = regex::bytes::RegexBuilder::new(&probe)
            .case_insensitive(a.flags & RE_I != 0)
            .multi_line(a.flags & RE_M != 0)
            .unicode(false)
            .build()
            .map_err(|e| exec(e.to_string()))?;
        if re.is_match(&data) {
            found = true;
        }
    }
    let orig_file = bytes_splitlines(&data);
    let mut new_file = bytes_splitlines(&result);
    if orig_file == new_file {
        has_changes = false;
    }
    let mut to_write: Option<Vec<u8>> = None;
    let mut backup_data: Option<Vec<u8>> = None;
    if has_changes && !a.dry_run {
        to_write = Some(result.clone());
        backup_data = Some(data.clone());
    }
    if !found && (a.append_if_not_found || a.prepend_if_not_found) {
        let nfc = match &a.not_found_content {
            Some(c) => c.clone(),
            None => repl.clone(),
        };
        let line = format!("{nfc}\n").into_bytes();
        if a.prepend_if_not_found {
            new_file.insert(0, line);
        } else {
            if let Some(last) = new_file.last_mut() {
                if !last.ends_with(b"\n") {
                    last.push(b'\n');
                }
            }
            new_file.push(line);
        }
        has_changes = true;
        if !a.dry_run {
            // Salt copies the file as it is now (replaced or not) for the backup.
            backup_data = Some(to_write.clone().unwrap_or_else(|| data.clone()));
            to_write = Some(new_file.concat());
        }
    }
    if let Some(w) = &to_write {
        write_keep(&path, w)?;
    }
    if let (Some(suffix), true, false) = (&a.backup, has_changes, a.dry_run) {
        if let Some(b) = &backup_data {
            write_backup(&path, suffix, b, false)?;
            if symlink {
                let link_bak = format!("{given}{suffix}");
                let target = std::fs::read_link(&given)
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let target_bak = format!("{target}{suffix}");
                if std::os::unix::fs::symlink(&target_bak, &link_bak).is_err() {
                    let _ = std::fs::remove_file(&link_bak);
                    std::os::unix::fs::symlink(&target_bak, &link_bak).map_err(|e| {
                        exec(format!(
                            "Unable create backup symlink '{link_bak}'. Target was '{target_bak}'. \
                             Exception: {}",
                            py_oserror(&e, &link_bak)
                        ))
                    })?;
                }
            }
        }
    }
    let dec = |lines: &[Vec<u8>]| -> Vec<String> { lines.iter().map(|l| decode(l)).collect() };
    let differences = diff_lines(&dec(&orig_file), &dec(&new_file));
    if a.show_changes {
        return Ok(Value::from(differences));
    }
    if differences.is_empty() {
        has_changes = false;
    }
    Ok(Value::Bool(has_changes))
}

/// `file.search(path, pattern, flags, bufsize, ignore_if_missing, multiline)`.
pub fn search(
    path: &str,
    pattern: &str,
    flags: u32,
    ignore_if_missing: bool,
    multiline: bool,
) -> Result<bool, EditError> {
    let flags = if multiline { flags | RE_M } else { flags };
    let mut a = ReplaceArgs::new(pattern, "");
    a.flags = flags;
    a.dry_run = true;
    a.search_only = true;
    a.show_changes = false;
    a.ignore_if_missing = ignore_if_missing;
    let expanded = expanduser(path);
    let real = realpath(&expanded);
    if !Path::new(&real).exists() {
        if ignore_if_missing {
            return Ok(false);
        }
        return Err(inval(format!("File not found: {real}")));
    }
    let data = read(&real)?;
    if !is_text(&data) {
        return Err(inval(format!(
            "Cannot perform string replacements on a binary file: {real}"
        )));
    }
    let re = PyRegex::new(pattern, flags, true, Use::Test)
        .map_err(|e| exec(format!("{e}: '{pattern}'")))?;
    Ok(re.is_match(&data))
}

/// Whether any line start of `data` satisfies `^(?!\s*C)\s*R` (the
/// `file.comment` state's probe, whose lookahead the crate lacks).
pub fn search_uncommented(path: &str, char_: &str, unanchored: &str) -> Result<bool, EditError> {
    let real = realpath(&expanduser(path));
    let data = read(&real)?;
    let commented = PyRegex::new(&format!("\\A\\s*{char_}"), RE_M, true, Use::Test)
        .map_err(|e| exec(format!("{e}: '{char_}'")))?;
    let body = PyRegex::new(&format!("\\A\\s*(?:{unanchored})"), RE_M, true, Use::Test)
        .map_err(|e| exec(format!("{e}: '{unanchored}'")))?;
    let mut starts = vec![0];
    starts.extend(
        data.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1),
    );
    Ok(starts
        .into_iter()
        .any(|s| !commented.is_match(&data[s..]) && body.is_match(&data[s..])))
}

/// `salt.utils.stringutils.build_whitespace_split_regex`.
pub fn build_whitespace_split_regex(text: &str) -> String {
    let mut regex = String::new();
    for line in str_splitlines(text, false) {
        let parts: Vec<String> = shlex_whitespace_split(&line)
            .iter()
            .map(|p| py_re_escape(p))
            .collect();
        regex.push_str(&format!(
            "(?:[\\s]+)?{}(?:[\\s]+)?",
            parts.join("(?:[\\s]+)?")
        ));
    }
    format!("(?m)^{regex}$")
}

/// `shlex.shlex(text)` (non-POSIX) with `whitespace_split`, the quote set
/// chosen as Salt does.
fn shlex_whitespace_split(text: &str) -> Vec<String> {
    let quotes: &[char] = if text.contains("'\\\"") {
        &[]
    } else if text.contains('\'') {
        &['"']
    } else if text.contains('"') {
        &['\'']
    } else {
        &['\'', '"']
    };
    let ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut out = Vec::new();
    let mut token = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        if let Some(q) = quote {
            token.push(c);
            if c == q {
                quote = None;
                out.push(std::mem::take(&mut token));
            }
            continue;
        }
        if ws(c) {
            if !token.is_empty() {
                out.push(std::mem::take(&mut token));
            }
        } else if token.is_empty() && quotes.contains(&c) {
            token.push(c);
            quote = Some(c);
        } else {
            token.push(c);
        }
    }
    if !token.is_empty() {
        out.push(token);
    }
    out
}

/// `file.contains(path, text)`: the stripped text is in the file.
pub fn contains(path: &str, text: &str) -> bool {
    let path = expanduser(path);
    let Ok(data) = std::fs::read(&path) else {
        return false;
    };
    let needle = text.trim();
    let hay = decode(&data);
    hay.contains(needle)
}

/// `file.contains_regex(path, regex, lchar)`: a line matches.
pub fn contains_regex(path: &str, regex: &str, lchar: &str) -> Result<bool, EditError> {
    let path = expanduser(path);
    let Ok(data) = std::fs::read(&path) else {
        return Ok(false);
    };
    let re =
        PyRegex::new(regex, 0, false, Use::Test).map_err(|e| exec(format!("{e}: '{regex}'")))?;
    for line in text_readlines(&decode(&data)) {
        let l = if lchar.is_empty() {
            line.as_str()
        } else {
            line.trim_start_matches(|c| lchar.contains(c))
        };
        if re.is_match(l.as_bytes()) {
            return Ok(true);
        }
    }
    Ok(false)
}

// ---------------------------------------------------------------------------
// line
// ---------------------------------------------------------------------------

/// Arguments of `file.line`.
#[derive(Debug, Clone, Default)]
pub struct LineArgs {
    pub content: Option<String>,
    pub match_: Option<String>,
    pub mode: Option<String>,
    pub location: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub show_changes: bool,
    pub backup: bool,
    pub quiet: bool,
    pub indent: bool,
}

/// `_regex_to_static`: the lines `regex` (DOTALL) finds or contains.
fn regex_to_static(src: &[String], regex: Option<&str>) -> Result<Option<Vec<String>>, EditError> {
    let Some(regex) = regex.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if src.is_empty() {
        return Ok(None);
    }
    let re =
        PyRegex::new(regex, RE_S, false, Use::Test).map_err(|e| exec(format!("{e}: '{regex}'")))?;
    Ok(Some(
        src.iter()
            .filter(|l| re.is_match(l.as_bytes()) || l.contains(regex))
            .cloned()
            .collect(),
    ))
}

fn assert_occurrence(probe: &[String], target: &str) -> Result<(), EditError> {
    let msg = match probe.len() {
        0 => "less than",
        1 => return Ok(()),
        _ => "more than",
    };
    Err(exec(format!(
        "Found {msg} expected occurrences in \"{target}\" expression"
    )))
}

fn set_line_indent(src: &str, line: &str, indent: bool) -> String {
    if !indent {
        return line.to_string();
    }
    let idt: String = src
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    format!("{idt}{}", line.trim_start())
}

/// `_get_eol`.
fn get_eol(line: &str) -> &'static str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else if line.ends_with('\r') {
        "\r"
    } else {
        ""
    }
}

fn set_line_eol(src: &str, line: &str) -> String {
    let eol = match get_eol(src) {
        "" => "\n",
        e => e,
    };
    format!("{}{eol}", line.trim_end())
}

/// Python `lines[i]` with negative indexes.
fn pyget(lines: &[String], i: isize) -> Result<&String, EditError> {
    let n = lines.len() as isize;
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        return Err(exec("list index out of range"));
    }
    Ok(&lines[j as usize])
}

fn index_of(lines: &[String], x: &str) -> usize {
    lines.iter().position(|l| l == x).unwrap_or(0)
}

/// `_set_line`.
fn set_line(mut lines: Vec<String>, a: &LineArgs, mode: &str) -> Result<Vec<String>, EditError> {
    let content = a.content.clone();
    let mut match_ = a.match_.clone();
    if match_.as_deref().is_none_or(str::is_empty) && a.before.is_none() && a.after.is_none() {
        match_ = content.clone();
    }
    let content = content.unwrap_or_default();
    let after = regex_to_static(&lines, a.after.as_deref())?;
    let before = regex_to_static(&lines, a.before.as_deref())?;
    let match_ = regex_to_static(&lines, match_.as_deref())?;
    let truthy = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|l| !l.is_empty());
    let indent = a.indent;
    if lines.is_empty() && (mode == "delete" || mode == "replace") {
        return Ok(Vec::new());
    }
    match mode {
        "delete" if truthy(&match_) => {
            let first = match_.as_ref().map(|m| m[0].clone()).unwrap_or_default();
            lines.retain(|l| *l != first);
        }
        "replace" if truthy(&match_) => {
            let first = match_.as_ref().map(|m| m[0].clone()).unwrap_or_default();
            let idx = index_of(&lines, &first);
            let orig = lines.remove(idx);
            lines.insert(idx, set_line_indent(&orig, &content, indent));
        }
        "insert" => {
            if before.is_none() && after.is_none() && a.location.is_none() {
                return Err(exec(
                    "On insert either \"location\" or \"before/after\" conditions are required.",
                ));
            }
            if let Some(loc) = a.location.as_deref().filter(|l| !l.is_empty()) {
                if loc == "end" {
                    if let Some(last) = lines.last().cloned() {
                        lines.push(set_line_indent(&last, &content, indent));
                    } else {
                        lines.push(content);
                    }
                } else if loc == "start" {
                    if let Some(first) = lines.first().cloned() {
                        lines.insert(0, set_line_eol(&first, &content));
                    } else {
                        lines = vec![format!("{content}\n")];
                    }
                }
            } else if truthy(&before) && truthy(&after) {
                let (b, af) = (before.unwrap_or_default(), after.unwrap_or_default());
                assert_occurrence(&b, "before")?;
                assert_occurrence(&af, "after")?;
                let last = index_of(&lines, &b[0]);
                let l = set_line_indent(&lines[last], &content, indent);
                lines.insert(last, l);
            } else if truthy(&after) {
                let af = after.unwrap_or_default();
                assert_occurrence(&af, "after")?;
                let idx = index_of(&lines, &af[0]);
                let next = lines.get(idx + 1);
                let trim = |s: &str| s.trim_end_matches(['\r', '\n']).to_string();
                if next.is_none_or(|n| trim(n) != trim(&content)) {
                    let l = set_line_indent(&lines[idx], &content, indent);
                    lines.insert(idx + 1, l);
                }
            } else if truthy(&before) {
                let b = before.unwrap_or_default();
                assert_occurrence(&b, "before")?;
                let idx = index_of(&lines, &b[0]);
                let prev = pyget(&lines, idx as isize - 1)?.clone();
                let trim = |s: &str| s.trim_end_matches(['\r', '\n']).to_string();
                if trim(&prev) != trim(&content) {
                    let l = set_line_indent(&lines[idx], &content, indent);
                    lines.insert(idx, l);
                }
            } else {
                return Err(exec("Neither before or after was found in file"));
            }
        }
        "ensure" => {
            let trim = |s: &str| s.trim_end_matches(['\r', '\n']).to_string();
            if truthy(&before) && truthy(&after) {
                let (b, af) = (before.unwrap_or_default(), after.unwrap_or_default());
                assert_occurrence(&af, "after")?;
                assert_occurrence(&b, "before")?;
                let ai = index_of(&lines, &af[0]);
                let bi = index_of(&lines, &b[0]);
                let already = lines.iter().any(|l| l.trim_start() == content);
                if !already {
                    if ai + 1 == bi {
                        let l = set_line_indent(&lines[ai], &content, indent);
                        lines.insert(ai + 1, l);
                    } else if ai + 2 == bi {
                        lines[ai + 1] = set_line_indent(&lines[ai], &content, indent);
                    } else {
                        return Err(exec(
                            "Found more than one line between boundaries \"before\" and \"after\".",
                        ));
                    }
                }
            } else if truthy(&before) {
                let b = before.unwrap_or_default();
                assert_occurrence(&b, "before")?;
                let bi = index_of(&lines, &b[0]);
                if bi == 0 || trim(&lines[bi - 1]) != trim(&content) {
                    let src = pyget(&lines, bi as isize - 1)?.clone();
                    lines.insert(bi, set_line_indent(&src, &content, indent));
                }
            } else if truthy(&after) {
                let af = after.unwrap_or_default();
                assert_occurrence(&af, "after")?;
                let ai = index_of(&lines, &af[0]);
                let is_last = ai + 1 >= lines.len();
                if is_last || trim(&lines[ai + 1]) != trim(&content) {
                    let l = set_line_indent(&lines[ai], &content, indent);
                    lines.insert(ai + 1, l);
                }
            } else {
                return Err(exec(
                    "Wrong conditions? Unable to ensure line without knowing where to put it \
                     before and/or after.",
                ));
            }
        }
        _ => {}
    }
    Ok(lines)
}

/// `file.line`; `test` is `__opts__["test"]` (compute, do not write).
pub fn line(path: &str, a: &LineArgs, test: bool) -> Result<Value, EditError> {
    let path = realpath(&expanduser(path));
    if !Path::new(&path).is_file() {
        if !a.quiet {
            return Err(exec(format!(
                "File \"{path}\" does not exists or is not a file."
            )));
        }
        return Ok(Value::Bool(false));
    }
    let mode = a.mode.as_ref().map(|m| m.to_lowercase());
    let Some(mode) = mode.filter(|m| !m.is_empty()) else {
        return Err(exec("Mode was not defined. How to process the file?"));
    };
    if !["insert", "ensure", "delete", "replace"].contains(&mode.as_str()) {
        return Err(exec(format!("Unknown mode: \"{mode}\"")));
    }
    if mode != "delete" && a.content.is_none() {
        return Err(exec("Content can only be empty if mode is \"delete\""));
    }
    let data = read(&path)?;
    let mut body = text_readlines(&decode(&data));
    let body_before = body.concat();
    if body.last().is_some_and(|l| !get_eol(l).is_empty()) {
        body.push(String::new());
    }
    if data.is_empty() && (mode == "delete" || mode == "replace") {
        body = Vec::new();
    }
    let mut body = set_line(body, a, &mode)?;
    if !body.is_empty() {
        for idx in 0..body.len() {
            if get_eol(&body[idx]).is_empty() && idx + 1 < body.len() {
                let prev = if idx <= 1 { 1 } else { idx - 1 };
                let src = body.get(prev).cloned().unwrap_or_default();
                body[idx] = set_line_eol(&src, &body[idx]);
            }
        }
        if body.last().is_some_and(|l| l.is_empty()) {
            body.pop();
        }
    }
    let new = body.concat();
    let changed = new != body_before;
    if a.backup && changed && !test {
        let stamp = chrono_like_stamp();
        write_backup(&path, &format!(".{stamp}"), &data, false)?;
    }
    let mut diff = None;
    if changed {
        if a.show_changes {
            let cur: Vec<String> = str_splitlines(&decode(&data), true);
            diff = Some(diff_lines(&cur, &body));
        }
        if !test {
            write_keep(&path, new.as_bytes())?;
        }
    }
    Ok(match diff {
        Some(d) if a.show_changes && !d.is_empty() => Value::from(d),
        _ => Value::Bool(changed),
    })
}

/// `time.strftime("%Y-%m-%d-%H-%M-%S", time.localtime())`.
fn chrono_like_stamp() -> String {
    // SAFETY: time/localtime_r with valid pointers.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        format!(
            "{:04}-{:02}-{:02}-{:02}-{:02}-{:02}",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec
        )
    }
}

// ---------------------------------------------------------------------------
// blockreplace
// ---------------------------------------------------------------------------

/// Arguments of `file.blockreplace`.
#[derive(Debug, Clone)]
pub struct BlockArgs {
    pub marker_start: String,
    pub marker_end: String,
    pub content: String,
    pub append_if_not_found: bool,
    pub prepend_if_not_found: bool,
    pub backup: Option<String>,
    pub dry_run: bool,
    pub show_changes: bool,
    /// `None`: add a newline when `content` lacks one (the state's default).
    pub append_newline: Option<bool>,
    pub insert_before_match: Option<String>,
    pub insert_after_match: Option<String>,
}

impl Default for BlockArgs {
    fn default() -> Self {
        BlockArgs {
            marker_start: "#-- start managed zone --".into(),
            marker_end: "#-- end managed zone --".into(),
            content: String::new(),
            append_if_not_found: false,
            prepend_if_not_found: false,
            backup: Some(".bak".into()),
            dry_run: false,
            show_changes: true,
            append_newline: Some(false),
            insert_before_match: None,
            insert_after_match: None,
        }
    }
}

/// `file.blockreplace`: the diff (show_changes) or whether it changed.
pub fn blockreplace(path: &str, a: &BlockArgs) -> Result<Value, EditError> {
    let exclusive = [
        a.append_if_not_found,
        a.prepend_if_not_found,
        a.insert_before_match
            .as_deref()
            .is_some_and(|s| !s.is_empty()),
        a.insert_after_match
            .as_deref()
            .is_some_and(|s| !s.is_empty()),
    ];
    if exclusive.iter().filter(|b| **b).count() > 1 {
        return Err(inval(
            "Only one of append_if_not_found, prepend_if_not_found, insert_before_match, and \
             insert_after_match is permitted",
        ));
    }
    let path = expanduser(path);
    if !Path::new(&path).exists() {
        return Err(inval(format!("File not found: {path}")));
    }
    let data = read(&path)?;
    let Ok(text) = String::from_utf8(data.clone()) else {
        return Err(inval(format!(
            "Cannot perform string replacements on a binary file: {path}"
        )));
    };
    let append_newline = match a.append_newline {
        Some(b) => b,
        None => !a.content.ends_with('\n'),
    };
    let split_content: Vec<&str> = a
        .content
        .split("\r\n")
        .flat_map(|w| w.split('\n'))
        .collect();
    let line_count = split_content.len();
    let add_content =
        |linesep: &str, lines: &mut Vec<String>, include_start: bool, end_line: Option<&str>| {
            let end = format!(
                "{}{linesep}",
                end_line
                    .unwrap_or(&a.marker_end)
                    .trim_end_matches(['\r', '\n'])
            );
            if include_start {
                lines.push(format!("{}{linesep}", a.marker_start));
            }
            for (i, l) in split_content.iter().enumerate() {
                if i + 1 != line_count {
                    lines.push(format!("{l}{linesep}"));
                } else if append_newline {
                    lines.push(format!("{l}{linesep}"));
                    lines.push(end.clone());
                } else {
                    lines.push(format!("{l}{end}"));
                }
            }
        };
    let mut orig_file: Vec<String> = Vec::new();
    let mut new_file: Vec<String> = Vec::new();
    let mut in_block = false;
    let mut block_found = false;
    let mut linesep: Option<&str> = None;
    for line in universal_lines_keep(&text) {
        let mut write = true;
        if linesep.is_none() {
            linesep = Some(if line.ends_with("\r\n") { "\r\n" } else { "\n" });
        }
        if line.contains(&a.marker_start) {
            in_block = true;
        } else if in_block {
            write = false;
            if let Some(pos) = line.find(&a.marker_end) {
                in_block = false;
                block_found = true;
                add_content(
                    linesep.unwrap_or("\n"),
                    &mut new_file,
                    false,
                    Some(&line[pos..]),
                );
            }
        }
        orig_file.push(line.clone());
        if write {
            new_file.push(line);
        }
    }
    let linesep = linesep.unwrap_or("\n");
    if in_block {
        return Err(exec(
            "Unterminated marked block. End of file reached before marker_end.",
        ));
    }
    if !block_found {
        if a.prepend_if_not_found {
            let mut pre = Vec::new();
            add_content(linesep, &mut pre, true, None);
            pre.extend(new_file);
            new_file = pre;
            block_found = true;
        } else if a.append_if_not_found {
            if let Some(last) = new_file.last_mut() {
                if !last.ends_with(linesep) {
                    last.push_str(linesep);
                }
            }
            add_content(linesep, &mut new_file, true, None);
            block_found = true;
        } else if let Some(rx) = a
            .insert_before_match
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(a.insert_after_match.as_deref().filter(|s| !s.is_empty()))
        {
            let after = a.insert_before_match.as_deref().is_none_or(str::is_empty);
            let re =
                PyRegex::new(rx, 0, false, Use::Test).map_err(|e| exec(format!("{e}: '{rx}'")))?;
            if let Some(mut idx) = orig_file.iter().position(|l| re.is_match(l.as_bytes())) {
                let mut block = Vec::new();
                add_content(linesep, &mut block, true, None);
                for l in block {
                    if after {
                        idx += 1;
                    }
                    new_file.insert(idx.min(new_file.len()), l);
                    if !after {
                        idx += 1;
                    }
                }
                block_found = true;
            }
        }
    }
    if !block_found {
        return Err(exec(
            "Cannot edit marked block. Markers were not found in file.",
        ));
    }
    let diff = diff_lines(&orig_file, &new_file);
    let has_changes = !diff.is_empty();
    if has_changes && !a.dry_run {
        if let Some(suffix) = &a.backup {
            write_backup(&path, suffix, &data, true)?;
        }
        write_keep(&path, new_file.concat().as_bytes())?;
    }
    if a.show_changes {
        return Ok(Value::from(diff));
    }
    Ok(Value::Bool(has_changes))
}

// ---------------------------------------------------------------------------
// comment_line, append, prepend
// ---------------------------------------------------------------------------

/// `file.comment_line`: `False` when nothing matches, else the diff of the
/// changed lines.
pub fn comment_line(
    path: &str,
    regex: &str,
    char_: &str,
    cmnt: bool,
    backup: Option<&str>,
) -> Result<Value, EditError> {
    let body = regex.trim_start_matches('^').trim_end_matches('$');
    let rx = if cmnt {
        format!(
            "{}({body}){}",
            if regex.starts_with('^') { "^" } else { "" },
            if regex.ends_with('$') { "$" } else { "" }
        )
    } else {
        format!(
            "^{char_}\\s*({body}){}",
            if regex.ends_with('$') { "$" } else { "" }
        )
    };
    let path = realpath(&expanduser(path));
    if !Path::new(&path).is_file() {
        return Err(inval(format!("File not found: {path}")));
    }
    let data = read(&path)?;
    if !is_text(&data) {
        return Err(inval(format!(
            "Cannot perform string replacements on a binary file: {path}"
        )));
    }
    let re = PyRegex::new(&rx, 0, false, Use::Test).map_err(|e| exec(format!("{e}: '{rx}'")))?;
    let mut orig = Vec::new();
    let mut new = Vec::new();
    let mut out = String::new();
    for line in data.split_inclusive(|b| *b == b'\n') {
        let line = decode(line);
        if re.is_match_start(line.as_bytes()) {
            let w = if cmnt {
                format!("{char_}{line}")
            } else {
                line.trim_start_matches(|c| char_.contains(c)).to_string()
            };
            orig.push(line.clone());
            new.push(w.clone());
            out.push_str(&w);
        } else {
            out.push_str(&line);
        }
    }
    if orig.is_empty() {
        return Ok(Value::Bool(false));
    }
    write_keep(&path, out.as_bytes())?;
    if let Some(b) = backup.filter(|b| !b.is_empty()) {
        write_backup(&path, b, &data, true)?;
    }
    Ok(Value::from(diff_lines(&orig, &new)))
}

/// `file.append(path, *lines)`: a newline at the end first, then each line
/// with a newline.
pub fn append(path: &str, lines: &[String]) -> Result<String, EditError> {
    let path = expanduser(path);
    let mut data = std::fs::read(&path).map_err(|e| exec(py_oserror(&e, &path)))?;
    if !data.is_empty() && !data.ends_with(b"\n") {
        data.push(b'\n');
    }
    for l in lines {
        data.extend_from_slice(l.as_bytes());
        data.push(b'\n');
    }
    // Salt opens the file for appending: a symlink's target is written.
    write_keep(&realpath(&path), &data)?;
    Ok(format!("Wrote {} lines to \"{path}\"", lines.len()))
}

/// `file.prepend(path, *lines)`.
pub fn prepend(path: &str, lines: &[String]) -> Result<String, EditError> {
    let path = expanduser(path);
    let contents = std::fs::read(&path)
        .map(|d| text_readlines(&decode(&d)))
        .unwrap_or_default();
    let mut out: String = lines.iter().map(|l| format!("{l}\n")).collect();
    out.push_str(&contents.concat());
    if Path::new(&path).exists() {
        // Salt rewrites the file in place: a symlink's target is written.
        write_keep(&realpath(&path), out.as_bytes())?;
    } else {
        brine_core::fsutil::write_atomic(Path::new(&path), out.as_bytes(), None)
            .map_err(|e| exec(py_oserror(&e, &path)))?;
    }
    Ok(format!("Prepended {} lines to \"{path}\"", lines.len()))
}

// ---------------------------------------------------------------------------
// touch, links
// ---------------------------------------------------------------------------

/// `file.touch(name, atime, mtime)`: create if missing, set the times.
pub fn touch(name: &str, atime: Option<i64>, mtime: Option<i64>) -> Result<bool, EditError> {
    let name = expanduser(name);
    if !Path::new(&name).exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&name)
            .map_err(|e| exec(strerror(&e)))?;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() as i64, d.subsec_nanos() as i64))
        .unwrap_or((0, 0));
    let ts = |v: Option<i64>| match v {
        Some(s) => libc::timespec {
            tv_sec: s as libc::time_t,
            tv_nsec: 0,
        },
        None => libc::timespec {
            tv_sec: now.0 as libc::time_t,
            tv_nsec: now.1 as _,
        },
    };
    let times = [ts(atime), ts(mtime)];
    let c = std::ffi::CString::new(name.clone()).map_err(|e| exec(e.to_string()))?;
    // SAFETY: valid C string and a two-element timespec array.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) };
    if rc != 0 {
        return Err(exec(strerror(&std::io::Error::last_os_error())));
    }
    Ok(Path::new(&name).exists())
}

/// Python's `exc.strerror`.
fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        // SAFETY: strerror returns a valid NUL-terminated string.
        Some(n) => unsafe { std::ffi::CStr::from_ptr(libc::strerror(n)) }
            .to_string_lossy()
            .into_owned(),
        None => e.to_string(),
    }
}

/// `file.is_link`.
pub fn is_link(path: &str) -> bool {
    std::fs::symlink_metadata(expanduser(path)).is_ok_and(|m| m.file_type().is_symlink())
}

/// `file.readlink(path, canonicalize)`.
pub fn readlink(path: &str, canonicalize: bool) -> Result<String, EditError> {
    let path = expanduser(path);
    if !path.starts_with('/') {
        return Err(inval(format!("Path to link must be absolute: {path}")));
    }
    if !is_link(&path) {
        return Err(inval(format!("A valid link was not specified: {path}")));
    }
    if canonicalize {
        return Ok(realpath(&path));
    }
    std::fs::read_link(&path)
        .map(|t| t.to_string_lossy().into_owned())
        .map_err(|e| exec(py_oserror(&e, &path)))
}

/// `file.symlink(src, path, force, atomic, follow_symlinks)`.
pub fn symlink(
    src: &str,
    path: &str,
    force: bool,
    atomic: bool,
    follow_symlinks: bool,
) -> Result<bool, EditError> {
    let path = expanduser(path);
    let exists = |p: &str| {
        if follow_symlinks {
            Path::new(p).exists()
        } else {
            lexists(p)
        }
    };
    if !path.starts_with('/') {
        return Err(inval(format!("Link path must be absolute: {path}")));
    }
    if is_link(&path) {
        if let Ok(t) = std::fs::read_link(&path) {
            if normpath(&t.to_string_lossy()) == normpath(src) {
                return Ok(true);
            }
        }
        if !force && !atomic {
            return Err(exec(format!("Found existing symlink: {path}")));
        }
    }
    if exists(&path) && !force && !atomic {
        return Err(exec(format!("Existing path is not a symlink: {path}")));
    }
    if (is_link(&path) || exists(&path)) && force && !atomic {
        std::fs::remove_file(&path).map_err(|e| exec(py_oserror(&e, &path)))?;
    } else if atomic {
        let dir = super::file::py_dirname(&path);
        let tmp = format!("{dir}/.brine-link-{}", std::process::id());
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(src, &tmp)
            .map_err(|_| exec(format!("Could not create '{path}'")))?;
        return match std::fs::rename(&tmp, &path) {
            Ok(()) => Ok(true),
            Err(_) => {
                let _ = std::fs::remove_file(&tmp);
                Err(exec(format!("Could not create '{path}'")))
            }
        };
    }
    std::os::unix::fs::symlink(src, &path)
        .map_err(|_| exec(format!("Could not create '{path}'")))?;
    Ok(true)
}

// ---------------------------------------------------------------------------
// The registered functions
// ---------------------------------------------------------------------------

fn truthy_or(b: &super::Bound, i: usize, default: bool) -> bool {
    b.opt(i).map(Value::truthy).unwrap_or(default)
}

fn opt_string(b: &super::Bound, i: usize) -> Option<String> {
    b.opt(i).map(str_of)
}

fn mod_replace(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let _ = ctx;
    let b = bind(
        "file.replace",
        &[
            "path",
            "pattern",
            "repl",
            "count",
            "flags",
            "bufsize",
            "append_if_not_found",
            "prepend_if_not_found",
            "not_found_content",
            "backup",
            "dry_run",
            "search_only",
            "show_changes",
            "ignore_if_missing",
            "preserve_inode",
            "backslash_literal",
        ],
        3,
        false,
        false,
        args,
        kwargs,
    )?;
    let mut a = ReplaceArgs::new(&b.str(1).unwrap_or_default(), &b.str(2).unwrap_or_default());
    a.count = b.opt(3).and_then(Value::as_int).unwrap_or(0).max(0) as usize;
    if let Some(f) = b.opt(4) {
        a.flags = get_flags(f).map_err(EditError::into_mod)?;
    }
    a.append_if_not_found = truthy_or(&b, 6, false);
    a.prepend_if_not_found = truthy_or(&b, 7, false);
    a.not_found_content = opt_string(&b, 8);
    a.backup = backup_suffix(b.params[9].as_ref(), Some(".bak"));
    a.dry_run = truthy_or(&b, 10, false);
    a.search_only = truthy_or(&b, 11, false);
    a.show_changes = truthy_or(&b, 12, true);
    a.ignore_if_missing = truthy_or(&b, 13, false);
    a.backslash_literal = truthy_or(&b, 15, false);
    replace(&b.str(0).unwrap_or_default(), &a).map_err(EditError::into_mod)
}

/// `LineArgs` from a state call or module kwargs-like accessor.
fn mod_line(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.line",
        &[
            "path",
            "content",
            "match",
            "mode",
            "location",
            "before",
            "after",
            "show_changes",
            "backup",
            "quiet",
            "indent",
        ],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let a = LineArgs {
        content: opt_string(&b, 1),
        match_: opt_string(&b, 2),
        mode: opt_string(&b, 3),
        location: opt_string(&b, 4),
        before: opt_string(&b, 5),
        after: opt_string(&b, 6),
        show_changes: truthy_or(&b, 7, true),
        backup: truthy_or(&b, 8, false),
        quiet: truthy_or(&b, 9, false),
        indent: truthy_or(&b, 10, true),
    };
    let test = ctx.opts.get("test").is_some_and(Value::truthy);
    line(&b.str(0).unwrap_or_default(), &a, test).map_err(EditError::into_mod)
}

fn mod_blockreplace(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.blockreplace",
        &[
            "path",
            "marker_start",
            "marker_end",
            "content",
            "append_if_not_found",
            "prepend_if_not_found",
            "backup",
            "dry_run",
            "show_changes",
            "append_newline",
            "insert_before_match",
            "insert_after_match",
        ],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let d = BlockArgs::default();
    let a = BlockArgs {
        marker_start: opt_string(&b, 1).unwrap_or(d.marker_start),
        marker_end: opt_string(&b, 2).unwrap_or(d.marker_end),
        content: opt_string(&b, 3).unwrap_or_default(),
        append_if_not_found: truthy_or(&b, 4, false),
        prepend_if_not_found: truthy_or(&b, 5, false),
        backup: backup_suffix(b.params[6].as_ref(), Some(".bak")),
        dry_run: truthy_or(&b, 7, false),
        show_changes: truthy_or(&b, 8, true),
        append_newline: match b.params[9].as_ref() {
            Some(Value::Null) => None,
            Some(v) => Some(v.truthy()),
            None => Some(false),
        },
        insert_before_match: opt_string(&b, 10),
        insert_after_match: opt_string(&b, 11),
    };
    blockreplace(&b.str(0).unwrap_or_default(), &a).map_err(EditError::into_mod)
}

fn comment_common(
    fun: &str,
    cmnt: Option<bool>,
    args: Vec<Value>,
    kwargs: Map,
) -> Result<Value, String> {
    let names: &[&str] = if cmnt.is_none() {
        &["path", "regex", "char", "cmnt", "backup"]
    } else {
        &["path", "regex", "char", "backup"]
    };
    let b = bind(fun, names, 2, false, false, args, kwargs)?;
    let (cm, bi) = match cmnt {
        Some(c) => (c, 3),
        None => (truthy_or(&b, 3, true), 4),
    };
    let char_ = opt_string(&b, 2).unwrap_or_else(|| "#".into());
    let backup = backup_suffix(b.params[bi].as_ref(), Some(".bak"));
    comment_line(
        &b.str(0).unwrap_or_default(),
        &b.str(1).unwrap_or_default(),
        &char_,
        cm,
        backup.as_deref(),
    )
    .map_err(EditError::into_mod)
}

fn mod_comment_line(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    comment_common("file.comment_line", None, args, kwargs)
}

fn mod_comment(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    comment_common("file.comment", Some(true), args, kwargs)
}

fn mod_uncomment(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    comment_common("file.uncomment", Some(false), args, kwargs)
}

/// `*args`, or `args=` in kwargs (a list, or one item).
fn star_lines(b: &super::Bound) -> Vec<String> {
    match b.kwargs.get(&Value::from("args")) {
        Some(Value::List(l)) => l.iter().map(str_of).collect(),
        Some(v) => vec![str_of(v)],
        None => b.rest.iter().map(str_of).collect(),
    }
}

fn mod_append(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.append", &["path"], 1, true, true, args, kwargs)?;
    append(&b.str(0).unwrap_or_default(), &star_lines(&b))
        .map(Value::from)
        .map_err(EditError::into_mod)
}

fn mod_prepend(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.prepend", &["path"], 1, true, true, args, kwargs)?;
    prepend(&b.str(0).unwrap_or_default(), &star_lines(&b))
        .map(Value::from)
        .map_err(EditError::into_mod)
}

/// An `atime`/`mtime` argument: digits become an int; anything else is
/// Salt's "atime and mtime must be integers".
fn time_arg(v: Option<&Value>) -> Result<Option<i64>, EditError> {
    match v {
        None => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i as i64)),
        Some(v) if !v.truthy() => Ok(None),
        Some(v) => str_of(v)
            .parse::<i64>()
            .map(Some)
            .map_err(|_| inval("atime and mtime must be integers")),
    }
}

fn mod_touch(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.touch",
        &["name", "atime", "mtime"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let at = time_arg(b.opt(1)).map_err(EditError::into_mod)?;
    let mt = time_arg(b.opt(2)).map_err(EditError::into_mod)?;
    touch(&b.str(0).unwrap_or_default(), at, mt)
        .map(Value::Bool)
        .map_err(EditError::into_mod)
}

fn mod_symlink(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.symlink",
        &["src", "path", "force", "atomic", "follow_symlinks"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    symlink(
        &b.str(0).unwrap_or_default(),
        &b.str(1).unwrap_or_default(),
        truthy_or(&b, 2, false),
        truthy_or(&b, 3, false),
        truthy_or(&b, 4, true),
    )
    .map(Value::Bool)
    .map_err(EditError::into_mod)
}

fn mod_is_link(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("file.is_link", &["path"], 1, false, false, args, kwargs)?;
    Ok(Value::Bool(is_link(&b.str(0).unwrap_or_default())))
}

fn mod_readlink(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.readlink",
        &["path", "canonicalize"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    readlink(&b.str(0).unwrap_or_default(), truthy_or(&b, 1, false))
        .map(Value::from)
        .map_err(EditError::into_mod)
}

fn mod_search(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.search",
        &[
            "path",
            "pattern",
            "flags",
            "bufsize",
            "ignore_if_missing",
            "multiline",
        ],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let flags = match b.opt(2) {
        Some(f) => get_flags(f).map_err(EditError::into_mod)?,
        None => RE_M,
    };
    search(
        &b.str(0).unwrap_or_default(),
        &b.str(1).unwrap_or_default(),
        flags,
        truthy_or(&b, 4, false),
        truthy_or(&b, 5, false),
    )
    .map(Value::Bool)
    .map_err(EditError::into_mod)
}

fn mod_contains(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.contains",
        &["path", "text"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    Ok(Value::Bool(contains(
        &b.str(0).unwrap_or_default(),
        &b.str(1).unwrap_or_default(),
    )))
}

fn mod_contains_regex(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "file.contains_regex",
        &["path", "regex", "lchar"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    contains_regex(
        &b.str(0).unwrap_or_default(),
        &b.str(1).unwrap_or_default(),
        &opt_string(&b, 2).unwrap_or_default(),
    )
    .map(Value::Bool)
    .map_err(EditError::into_mod)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(p: &str, r: &str, s: &str) -> String {
        let re = PyRegex::new(p, RE_M, true, Use::Substitute).unwrap();
        String::from_utf8(subn(&re, r.as_bytes(), s.as_bytes(), 0).unwrap().0).unwrap()
    }

    #[test]
    fn python_sub_semantics() {
        assert_eq!(sub("x*", "-", "abxd"), "-a-b--d-");
        assert_eq!(sub(r"(\w+)=(\w+)", r"\2=\1", "a=b\nc=d"), "b=a\nd=c");
        assert_eq!(sub(r"(?P<k>\w+)", r"<\g<k>>", "ab cd"), "<ab> <cd>");
        assert_eq!(sub(r"^foo$", "bar", "foo\nfoox\nfoo"), "bar\nfoox\nbar");
        assert_eq!(sub(r"a{", "b", "a{"), "b");
        assert_eq!(sub(r"[[]", "(", "a[b"), "a(b");
        assert_eq!(sub(r"x", r"\n", "axb"), "a\nb");
        assert_eq!(sub(r"x", r"\.", "axb"), "a\\.b");
    }

    #[test]
    fn unsupported_constructs_are_errors() {
        for p in [r"(?<=a)b", r"(?=a)", r"(a)\1", r"(?P=x)", r"a++"] {
            let e = PyRegex::new(p, 0, true, Use::Substitute).unwrap_err();
            assert!(e.contains("not supported"), "{p}: {e}");
        }
        assert_eq!(
            PyRegex::new("a(", 0, true, Use::Test).unwrap_err(),
            "unclosed group"
        );
        assert!(PyRegex::new(r"\q", 0, true, Use::Test)
            .unwrap_err()
            .contains("bad escape"));
    }

    #[test]
    fn dollar_before_final_newline() {
        let re = PyRegex::new("^foo$", 0, false, Use::Test).unwrap();
        assert!(re.is_match_start(b"foo\n"));
        assert!(!re.is_match_start(b"foox\n"));
    }

    #[test]
    fn whitespace_split_regex() {
        assert_eq!(
            build_whitespace_split_regex("a b"),
            "(?m)^(?:[\\s]+)?a(?:[\\s]+)?b(?:[\\s]+)?$"
        );
        // A quote char present in the text is not a quote (Salt picks the other).
        assert_eq!(
            shlex_whitespace_split("x 'a b' c"),
            vec!["x", "'a", "b'", "c"]
        );
        assert_eq!(
            shlex_whitespace_split("x 'y' \"a b\" c"),
            vec!["x", "'y'", "\"a b\"", "c"]
        );
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(
            str_splitlines("a\r\nb\rc\x0cd", false),
            vec!["a", "b", "c", "d"]
        );
        assert_eq!(
            bytes_splitlines(b"a\r\nb\n"),
            vec![b"a\r\n".to_vec(), b"b\n".to_vec()]
        );
        assert_eq!(normpath("/a//b/../c/"), "/a/c");
        assert_eq!(normpath("a/./b"), "a/b");
    }
}
