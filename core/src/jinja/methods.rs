//! Python methods on template values: the mutating list/dict methods Salt
//! formulas rely on (`append`, `extend`, `update`, `setdefault`, `pop`, ...)
//! plus str/dict/list methods missing from minijinja-contrib's `pycompat`,
//! which handles the rest.

use minijinja::value::{MutList, MutMap, Tuple, Value as MjValue, ValueKind};
use minijinja::{Error, ErrorKind, State};

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Positional arguments and keyword arguments of a method call.
fn split(args: &[MjValue]) -> (Vec<MjValue>, Vec<(MjValue, MjValue)>) {
    let mut pos = Vec::new();
    let mut kw = Vec::new();
    for a in args {
        if a.is_kwargs() {
            if let Some(pairs) = a.as_object().and_then(|o| o.try_iter_pairs()) {
                kw.extend(pairs);
            }
        } else {
            pos.push(a.clone());
        }
    }
    (pos, kw)
}

fn arity(method: &str, pos: &[MjValue], min: usize, max: usize) -> Result<(), Error> {
    if pos.len() < min || pos.len() > max {
        return Err(err(format!(
            "{method}() takes {} argument{} ({} given)",
            if min == max {
                min.to_string()
            } else {
                format!("{min} to {max}")
            },
            if max == 1 { "" } else { "s" },
            pos.len()
        )));
    }
    Ok(())
}

fn index_arg(v: &MjValue, len: usize, clamp: bool) -> Result<usize, Error> {
    let i = v
        .as_i64()
        .ok_or_else(|| err("list indices must be integers"))?;
    let len_i = len as i64;
    let idx = if i < 0 { i + len_i } else { i };
    if clamp {
        Ok(idx.clamp(0, len_i) as usize)
    } else if idx < 0 || idx >= len_i {
        Err(err("pop index out of range"))
    } else {
        Ok(idx as usize)
    }
}

/// Key/value pairs of a dict-like or pair-sequence argument.
fn pairs_of(v: &MjValue) -> Result<Vec<(MjValue, MjValue)>, Error> {
    if v.kind() == ValueKind::Map {
        if let Some(p) = v.as_object().and_then(|o| o.try_iter_pairs()) {
            return Ok(p.collect());
        }
        let mut out = Vec::new();
        for k in v.try_iter()? {
            let val = v.get_item(&k)?;
            out.push((k, val));
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for item in v.try_iter()? {
        let k = item.get_item_by_index(0)?;
        let val = item.get_item_by_index(1)?;
        out.push((k, val));
    }
    Ok(out)
}

fn list_method(list: &MutList, method: &str, args: &[MjValue]) -> Result<MjValue, Error> {
    let (pos, _) = split(args);
    match method {
        "append" => {
            arity(method, &pos, 1, 1)?;
            list.items_mut().push(pos[0].clone());
            Ok(MjValue::from(()))
        }
        "extend" => {
            arity(method, &pos, 1, 1)?;
            let new: Vec<MjValue> = pos[0].try_iter()?.collect();
            list.items_mut().extend(new);
            Ok(MjValue::from(()))
        }
        "insert" => {
            arity(method, &pos, 2, 2)?;
            let mut items = list.items_mut();
            let idx = index_arg(&pos[0], items.len(), true)?;
            items.insert(idx, pos[1].clone());
            Ok(MjValue::from(()))
        }
        "pop" => {
            arity(method, &pos, 0, 1)?;
            let mut items = list.items_mut();
            if items.is_empty() {
                return Err(err("pop from empty list"));
            }
            let idx = match pos.first() {
                Some(i) => index_arg(i, items.len(), false)?,
                None => items.len() - 1,
            };
            Ok(items.remove(idx))
        }
        "remove" => {
            arity(method, &pos, 1, 1)?;
            // Compare on a snapshot: equality may need other locks.
            let snapshot = list.items().clone();
            match snapshot.iter().position(|x| x == &pos[0]) {
                Some(i) => {
                    let mut items = list.items_mut();
                    if i < items.len() {
                        items.remove(i);
                    }
                    Ok(MjValue::from(()))
                }
                None => Err(err("list.remove(x): x not in list")),
            }
        }
        "index" => {
            arity(method, &pos, 1, 3)?;
            let snapshot = list.items().clone();
            match snapshot.iter().position(|x| x == &pos[0]) {
                Some(i) => Ok(MjValue::from(i)),
                None => Err(err(format!("{} is not in list", pos[0]))),
            }
        }
        "count" => {
            arity(method, &pos, 1, 1)?;
            let snapshot = list.items().clone();
            Ok(MjValue::from(
                snapshot.iter().filter(|x| *x == &pos[0]).count(),
            ))
        }
        "reverse" => {
            list.items_mut().reverse();
            Ok(MjValue::from(()))
        }
        "sort" => {
            let mut snapshot = list.items().clone();
            snapshot.sort();
            *list.items_mut() = snapshot;
            Ok(MjValue::from(()))
        }
        "clear" => {
            list.items_mut().clear();
            Ok(MjValue::from(()))
        }
        "copy" => Ok(MutList::new_value(list.items().clone())),
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

fn map_method(map: &MutMap, method: &str, args: &[MjValue]) -> Result<MjValue, Error> {
    let (pos, kw) = split(args);
    match method {
        "update" => {
            arity(method, &pos, 0, 1)?;
            let mut new = match pos.first() {
                Some(v) => pairs_of(v)?,
                None => Vec::new(),
            };
            new.extend(kw);
            let mut m = map.map_mut();
            for (k, v) in new {
                m.insert(k, v);
            }
            Ok(MjValue::from(()))
        }
        "setdefault" => {
            arity(method, &pos, 1, 2)?;
            let mut m = map.map_mut();
            let default = pos.get(1).cloned().unwrap_or(MjValue::from(()));
            Ok(m.entry(pos[0].clone()).or_insert(default).clone())
        }
        "pop" => {
            arity(method, &pos, 1, 2)?;
            let mut m = map.map_mut();
            match m.shift_remove(&pos[0]) {
                Some(v) => Ok(v),
                None => pos
                    .get(1)
                    .cloned()
                    .ok_or_else(|| err(format!("KeyError: {}", pos[0]))),
            }
        }
        "popitem" => match map.map_mut().pop() {
            Some((k, v)) => Ok(Tuple::new_value(vec![k, v])),
            None => Err(err("popitem(): dictionary is empty")),
        },
        "clear" => {
            map.map_mut().clear();
            Ok(MjValue::from(()))
        }
        "copy" => Ok(if map.is_ordered() {
            MutMap::new_ordered_value(map.map().clone())
        } else {
            MutMap::new_value(map.map().clone())
        }),
        "get" => {
            arity(method, &pos, 1, 2)?;
            let m = map.map();
            Ok(m.get(&pos[0])
                .cloned()
                .unwrap_or_else(|| pos.get(1).cloned().unwrap_or(MjValue::from(()))))
        }
        "has_key" => {
            arity(method, &pos, 1, 1)?;
            Ok(MjValue::from(map.map().contains_key(&pos[0])))
        }
        "keys" => Ok(MutList::new_value(map.map().keys().cloned().collect())),
        "values" => Ok(MutList::new_value(map.map().values().cloned().collect())),
        "items" => Ok(MutList::new_value(
            map.map()
                .iter()
                .map(|(k, v)| Tuple::new_value(vec![k.clone(), v.clone()]))
                .collect(),
        )),
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// Python `str.split`/`rsplit` with optional separator and maxsplit.
fn py_split(s: &str, sep: Option<&str>, maxsplit: i64, from_right: bool) -> Vec<String> {
    let max = if maxsplit < 0 {
        usize::MAX
    } else {
        maxsplit as usize
    };
    match sep {
        Some(sep) if !sep.is_empty() => {
            if from_right {
                let mut v: Vec<String> = s
                    .rsplitn(max.saturating_add(1), sep)
                    .map(str::to_string)
                    .collect();
                v.reverse();
                v
            } else {
                s.splitn(max.saturating_add(1), sep)
                    .map(str::to_string)
                    .collect()
            }
        }
        _ => {
            // whitespace split, dropping empty strings
            let mut out: Vec<String> = Vec::new();
            if from_right {
                let mut rest = s.trim_end();
                while !rest.is_empty() {
                    if out.len() == max {
                        out.push(rest.to_string());
                        break;
                    }
                    match rest.rfind(char::is_whitespace) {
                        Some(i) => {
                            let ch_len = rest[i..].chars().next().map_or(1, char::len_utf8);
                            out.push(rest[i + ch_len..].to_string());
                            rest = rest[..i].trim_end();
                        }
                        None => {
                            out.push(rest.to_string());
                            break;
                        }
                    }
                }
                out.reverse();
            } else {
                let mut rest = s.trim_start();
                while !rest.is_empty() {
                    if out.len() == max {
                        out.push(rest.to_string());
                        break;
                    }
                    match rest.find(char::is_whitespace) {
                        Some(i) => {
                            out.push(rest[..i].to_string());
                            rest = rest[i..].trim_start();
                        }
                        None => {
                            out.push(rest.to_string());
                            break;
                        }
                    }
                }
            }
            out
        }
    }
}

fn str_method(s: &str, method: &str, args: &[MjValue]) -> Result<MjValue, Error> {
    let (pos, kw) = split(args);
    let kwarg = |name: &str| {
        kw.iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .map(|(_, v)| v.clone())
    };
    match method {
        "split" | "rsplit" => {
            let sep = pos.first().cloned().or_else(|| kwarg("sep"));
            let sep = sep.filter(|v| !v.is_none());
            let max = pos
                .get(1)
                .cloned()
                .or_else(|| kwarg("maxsplit"))
                .and_then(|v| v.as_i64())
                .unwrap_or(-1);
            let parts = py_split(
                s,
                sep.as_ref().and_then(|v| v.as_str()),
                max,
                method == "rsplit",
            );
            Ok(MutList::new_value(
                parts.into_iter().map(MjValue::from).collect(),
            ))
        }
        "partition" | "rpartition" => {
            arity(method, &pos, 1, 1)?;
            let sep = pos[0].as_str().unwrap_or_default();
            let found = if method == "partition" {
                s.find(sep)
            } else {
                s.rfind(sep)
            };
            let parts = match found {
                Some(i) => [&s[..i], sep, &s[i + sep.len()..]],
                None if method == "partition" => [s, "", ""],
                None => ["", "", s],
            };
            Ok(Tuple::new_value(
                parts.iter().map(|p| MjValue::from(*p)).collect(),
            ))
        }
        "zfill" => {
            arity(method, &pos, 1, 1)?;
            let width = pos[0].as_usize().unwrap_or(0);
            let len = s.chars().count();
            if len >= width {
                return Ok(MjValue::from(s));
            }
            let (sign, digits) = match s.chars().next() {
                Some(c @ ('+' | '-')) => (c.to_string(), &s[1..]),
                _ => (String::new(), s),
            };
            Ok(MjValue::from(format!(
                "{sign}{}{digits}",
                "0".repeat(width - len)
            )))
        }
        "ljust" | "rjust" | "center" => {
            arity(method, &pos, 1, 2)?;
            let width = pos[0].as_usize().unwrap_or(0);
            let fill = pos
                .get(1)
                .and_then(|f| f.as_str())
                .and_then(|f| f.chars().next())
                .unwrap_or(' ');
            let len = s.chars().count();
            if len >= width {
                return Ok(MjValue::from(s));
            }
            let pad = width - len;
            let f = |n: usize| fill.to_string().repeat(n);
            let out = match method {
                "ljust" => format!("{s}{}", f(pad)),
                "rjust" => format!("{}{s}", f(pad)),
                _ => {
                    // Python puts the extra fill on the right when the
                    // padding is odd and the width is even... on the left
                    // when `pad` is odd and `width` is odd.
                    let left = pad / 2 + (pad & width & 1);
                    format!("{}{s}{}", f(left), f(pad - left))
                }
            };
            Ok(MjValue::from(out))
        }
        "encode" => Ok(MjValue::from_bytes(s.as_bytes().to_vec())),
        "decode" => Ok(MjValue::from(s)),
        "swapcase" => Ok(MjValue::from(
            s.chars()
                .map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().to_string()
                    } else {
                        c.to_uppercase().to_string()
                    }
                })
                .collect::<String>(),
        )),
        "index" | "rindex" => {
            arity(method, &pos, 1, 1)?;
            let sub = pos[0].as_str().unwrap_or_default();
            let found = if method == "index" {
                s.find(sub)
            } else {
                s.rfind(sub)
            };
            match found {
                Some(i) => Ok(MjValue::from(s[..i].chars().count())),
                None => Err(err("substring not found")),
            }
        }
        "removeprefix" => {
            arity(method, &pos, 1, 1)?;
            let p = pos[0].as_str().unwrap_or_default();
            Ok(MjValue::from(s.strip_prefix(p).unwrap_or(s)))
        }
        "removesuffix" => {
            arity(method, &pos, 1, 1)?;
            let p = pos[0].as_str().unwrap_or_default();
            Ok(MjValue::from(s.strip_suffix(p).unwrap_or(s)))
        }
        "istitle" => {
            let title = s
                .split(|c: char| !c.is_alphabetic())
                .filter(|w| !w.is_empty())
                .all(|w| {
                    let mut cs = w.chars();
                    cs.next().is_some_and(char::is_uppercase) && cs.all(|c| !c.is_uppercase())
                });
            Ok(MjValue::from(title && s.chars().any(char::is_alphabetic)))
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// The environment's unknown-method callback.
pub fn unknown_method_callback(
    state: &State,
    value: &MjValue,
    method: &str,
    args: &[MjValue],
) -> Result<MjValue, Error> {
    let rv = if let Some(list) = value.downcast_object_ref::<MutList>() {
        list_method(list, method, args)
    } else if let Some(map) = value.downcast_object_ref::<MutMap>() {
        map_method(map, method, args)
    } else if let Some(s) = value.as_str() {
        str_method(s, method, args)
    } else {
        Err(Error::from(ErrorKind::UnknownMethod))
    };
    match rv {
        Err(e) if e.kind() == ErrorKind::UnknownMethod => {
            minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::py_split;

    #[test]
    fn python_split() {
        assert_eq!(py_split("  a b  c ", None, -1, false), vec!["a", "b", "c"]);
        assert_eq!(py_split("a b c", None, 1, false), vec!["a", "b c"]);
        assert_eq!(py_split("a b c", None, 1, true), vec!["a b", "c"]);
        assert_eq!(
            py_split("a,b,,c", Some(","), -1, false),
            vec!["a", "b", "", "c"]
        );
        assert_eq!(py_split("a,b,c", Some(","), 1, true), vec!["a,b", "c"]);
    }
}
