//! Python's `fnmatch.fnmatch` (POSIX, case-sensitive): `*`, `?`, `[seq]`,
//! `[!seq]`, whole-string match, `*` also matching `/` and newlines.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    Any,
    Star,
    /// A bracket set: negated?, items (single chars and ranges).
    Set(bool, Vec<(char, char)>),
}

fn compile(pat: &str) -> Vec<Tok> {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let n = chars.len();
    while i < n {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                if out.last() != Some(&Tok::Star) {
                    out.push(Tok::Star);
                }
            }
            '?' => out.push(Tok::Any),
            '[' => {
                // Find the closing bracket the way fnmatch.translate does.
                let mut j = i;
                if j < n && chars[j] == '!' {
                    j += 1;
                }
                if j < n && chars[j] == ']' {
                    j += 1;
                }
                while j < n && chars[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    out.push(Tok::Lit('['));
                    continue;
                }
                let mut body: &[char] = &chars[i..j];
                i = j + 1;
                let neg = body.first() == Some(&'!');
                if neg {
                    body = &body[1..];
                }
                let mut items = Vec::new();
                let mut k = 0;
                while k < body.len() {
                    if k + 2 < body.len() && body[k + 1] == '-' {
                        if body[k] <= body[k + 2] {
                            items.push((body[k], body[k + 2]));
                        }
                        k += 3;
                    } else {
                        items.push((body[k], body[k]));
                        k += 1;
                    }
                }
                if items.is_empty() && !neg {
                    // Python: an empty set never matches.
                    out.push(Tok::Set(false, Vec::new()));
                } else {
                    out.push(Tok::Set(neg, items));
                }
            }
            other => out.push(Tok::Lit(other)),
        }
    }
    out
}

fn tok_matches(t: &Tok, c: char) -> bool {
    match t {
        Tok::Lit(l) => *l == c,
        Tok::Any => true,
        Tok::Star => true,
        Tok::Set(neg, items) => {
            let inside = items.iter().any(|(a, b)| *a <= c && c <= *b);
            inside != *neg
        }
    }
}

/// `fnmatch.fnmatch(name, pat)` on POSIX.
pub fn fnmatch(name: &str, pat: &str) -> bool {
    let toks = compile(pat);
    let s: Vec<char> = name.chars().collect();
    // Classic greedy matching with single backtrack point per star.
    let (mut ti, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if ti < toks.len() && toks[ti] == Tok::Star {
            star = Some((ti, si));
            ti += 1;
        } else if ti < toks.len() && tok_matches(&toks[ti], s[si]) {
            ti += 1;
            si += 1;
        } else if let Some((st, ss)) = star {
            ti = st + 1;
            si = ss + 1;
            star = Some((st, ss + 1));
        } else {
            return false;
        }
    }
    while ti < toks.len() && toks[ti] == Tok::Star {
        ti += 1;
    }
    ti == toks.len()
}

/// `fnmatch.filter(names, pat)`.
pub fn filter<'a>(names: impl IntoIterator<Item = &'a String>, pat: &str) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| fnmatch(n, pat))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn python_fnmatch_cases() {
        // Expectations from Python 3.11's fnmatch.fnmatch.
        let cases = [
            ("web1", "web*", true),
            ("web1", "web?", true),
            ("web10", "web?", false),
            ("a.b.c", "a.*", true),
            ("a", "a.*", false),
            ("web1", "web[0-9]", true),
            ("weba", "web[!0-9]", true),
            ("web1", "web[!0-9]", false),
            ("web[", "web[", true),
            ("a]", "[]]]", false),
            ("]]", "[]]]", true),
            ("x/y", "*", true),
            ("", "*", true),
            ("abc", "*b*", true),
            ("Web1", "web*", false),
            ("a-b", "a[-]b", true),
            ("foo.sls", "*.sls", true),
        ];
        for (name, pat, want) in cases {
            assert_eq!(fnmatch(name, pat), want, "fnmatch({name:?}, {pat:?})");
        }
    }
}
