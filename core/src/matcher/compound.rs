//! Compound targets (`G@os:Debian and not L@a,b or web*`) and nodegroup
//! expansion, as `salt/matchers/compound_match.py` and
//! `salt.utils.minions.nodegroup_comp` do them.

use super::MatchContext;
use crate::value::Value;

const OPERS: [&str; 5] = ["and", "or", "not", "(", ")"];

/// `salt.utils.minions.parse_target`: engine letter, optional delimiter
/// (only after G, P, I, J) and pattern.
pub fn parse_target(word: &str) -> (Option<char>, Option<char>, String) {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() >= 3 && "GPIJLNSER".contains(chars[0]) {
        if chars[1] == '@' {
            return (Some(chars[0]), None, chars[2..].iter().collect());
        }
        if "GPIJ".contains(chars[0]) && chars.len() >= 4 && chars[2] == '@' {
            return (Some(chars[0]), Some(chars[1]), chars[3..].iter().collect());
        }
    }
    (None, None, word.to_string())
}

/// What `nodegroup_comp` hands back: a word list for the compound matcher,
/// or nothing (`""`, an unknown or recursive nodegroup).
#[derive(Debug, Clone, PartialEq)]
pub enum Expansion {
    Words(Vec<String>),
    Empty,
}

fn nodegroup_regex(words: &[String]) -> Option<Vec<String>> {
    if words.iter().any(|w| OPERS.contains(&w.as_str())) {
        return None;
    }
    let typed = |w: &String| {
        let c: Vec<char> = w.chars().take(2).collect();
        c.len() == 2 && c[0].is_ascii_uppercase() && c[1] == '@'
    };
    if words.iter().any(|w| w.contains('*') || typed(w)) {
        return None;
    }
    let regex_chars = ['(', '[', '{', '\\', '?', '}', ']', ')'];
    let joined = words.join(",");
    if words.iter().any(|w| w.contains(&regex_chars[..])) {
        Some(vec![format!("E@{joined}")])
    } else {
        Some(vec![format!("L@{joined}")])
    }
}

fn value_words(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Str(s) => Some(s.split_whitespace().map(String::from).collect()),
        Value::List(l) => Some(
            l.iter()
                .map(|w| match w {
                    Value::Str(s) => s.clone(),
                    other => super::subdict::py_str(other),
                })
                .collect(),
        ),
        _ => None,
    }
}

/// `nodegroup_comp(nodegroup, nodegroups)`.
pub fn nodegroup_comp(name: &str, nodegroups: &Value) -> Expansion {
    let mut skip = Vec::new();
    nodegroup_comp_inner(name, nodegroups, &mut skip, true)
}

fn nodegroup_comp_inner(
    name: &str,
    nodegroups: &Value,
    skip: &mut Vec<String>,
    first_call: bool,
) -> Expansion {
    if skip.iter().any(|s| s == name) {
        return Expansion::Empty;
    }
    let Some(def) = nodegroups.get(name) else {
        return Expansion::Empty;
    };
    let Some(words) = value_words(def) else {
        return Expansion::Empty;
    };
    skip.push(name.to_string());
    let mut ret = Vec::new();
    let mut expanded = false;
    for word in &words {
        if OPERS.contains(&word.as_str()) {
            ret.push(word.clone());
        } else if word.chars().count() >= 3 && word.starts_with("N@") {
            expanded = true;
            if let Expansion::Words(w) = nodegroup_comp_inner(&word[2..], nodegroups, skip, false) {
                ret.extend(w);
            }
        } else {
            ret.push(word.clone());
        }
    }
    if !ret.is_empty() {
        ret.insert(0, "(".into());
        ret.push(")".into());
    }
    skip.retain(|s| s != name);
    if expanded || !first_call {
        if !first_call {
            if let Some(j) = nodegroup_regex(&words) {
                return Expansion::Words(j);
            }
        }
        return Expansion::Words(ret);
    }
    if let Some(j) = nodegroup_regex(&words) {
        return Expansion::Words(j);
    }
    Expansion::Words(words)
}

/// Evaluate the `True and not ( False or True )` sentence the way Python's
/// `eval` would; anything that is not a valid expression is `None`.
fn eval_bool(tokens: &[String]) -> Option<bool> {
    struct P<'a> {
        t: &'a [String],
        i: usize,
    }
    impl<'a> P<'a> {
        fn peek(&self) -> Option<&'a str> {
            self.t.get(self.i).map(|s| s.as_str())
        }
        fn or(&mut self) -> Option<bool> {
            let mut v = self.and()?;
            while self.peek() == Some("or") {
                self.i += 1;
                let r = self.and()?;
                v = v || r;
            }
            Some(v)
        }
        fn and(&mut self) -> Option<bool> {
            let mut v = self.not()?;
            while self.peek() == Some("and") {
                self.i += 1;
                let r = self.not()?;
                v = v && r;
            }
            Some(v)
        }
        fn not(&mut self) -> Option<bool> {
            if self.peek() == Some("not") {
                self.i += 1;
                return Some(!self.not()?);
            }
            self.atom()
        }
        fn atom(&mut self) -> Option<bool> {
            let tok = self.peek()?;
            self.i += 1;
            match tok {
                "True" => Some(true),
                "False" => Some(false),
                "(" => {
                    let v = self.or()?;
                    if self.peek() != Some(")") {
                        return None;
                    }
                    self.i += 1;
                    Some(v)
                }
                _ => None,
            }
        }
    }
    let mut p = P { t: tokens, i: 0 };
    let v = p.or()?;
    if p.i != tokens.len() {
        return None;
    }
    Some(v)
}

/// `compound_match.match(tgt)`: a string (split on whitespace) or a list of
/// words. Invalid expressions are an `Err` (Salt logs them and does not match).
pub fn compound(tgt: &Value, ctx: &MatchContext) -> Result<bool, String> {
    let mut words: Vec<String> = match tgt {
        Value::Str(_) | Value::List(_) => value_words(tgt).unwrap_or_default(),
        _ => return Err("Compound target received that is neither string, list nor tuple".into()),
    };
    words.reverse(); // pop from the end
    let mut results: Vec<String> = Vec::new();
    while let Some(word) = words.pop() {
        if OPERS.contains(&word.as_str()) {
            if let Some(last) = results.last() {
                if last == "(" && (word == "and" || word == "or") {
                    return Err(format!("Invalid beginning operator after \"(\": {word}"));
                }
                if word == "not" && !["and", "or", "("].contains(&last.as_str()) {
                    results.push("and".into());
                }
                results.push(word);
            } else {
                if word != "(" && word != "not" {
                    return Err(format!("Invalid beginning operator: {word}"));
                }
                results.push(word);
            }
            continue;
        }
        let (engine, delim, pattern) = parse_target(&word);
        let res = match engine {
            Some('N') => {
                match nodegroup_comp(&pattern, ctx.nodegroups) {
                    Expansion::Words(w) => words.extend(w.into_iter().rev()),
                    Expansion::Empty => {}
                }
                continue;
            }
            Some('R') => {
                return Err(format!(
                    "Unrecognized target engine \"R\" for target expression \"{word}\""
                ))
            }
            Some(e) => {
                let d = delim.map(|c| c.to_string()).unwrap_or_else(|| ":".into());
                let kind = match e {
                    'G' => "grain",
                    'P' => "grain_pcre",
                    'I' => "pillar",
                    'J' => "pillar_pcre",
                    'L' => "list",
                    'S' => "ipcidr",
                    _ => "pcre",
                };
                super::match_with_delimiter(&Value::str(pattern), kind, &d, ctx)?
            }
            None => super::fnmatch::fnmatch(ctx.id, &word),
        };
        results.push(if res { "True".into() } else { "False".into() });
    }
    eval_bool(&results).ok_or_else(|| {
        let tgt = match tgt {
            Value::Str(s) => s.clone(),
            other => super::subdict::py_str(other),
        };
        format!(
            "Invalid compound target: {tgt} for results: {}",
            results.join(" ")
        )
    })
}
