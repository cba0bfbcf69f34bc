//! `salt.utils.dictupdate` merges used by the pillar compiler:
//! `merge(a, b, strategy, renderer, merge_lists)` with the strategies
//! `smart`, `recurse`, `aggregate`, `overwrite`, `list` and `none`.

use crate::value::{Map, Value};

/// `dictupdate.update(dest, upd, merge_lists)`: recursive dict update;
/// lists are replaced, or concatenated without duplicates with `merge_lists`.
pub fn update(dest: &mut Map, upd: &Map, merge_lists: bool) {
    for (key, val) in upd {
        match (dest.get_mut(key), val) {
            (Some(Value::Map(d)), Value::Map(u)) => update(d, u, merge_lists),
            (Some(Value::List(d)), Value::List(u)) if merge_lists => {
                for x in u {
                    if !d.contains(x) {
                        d.push(x.clone());
                    }
                }
            }
            _ => {
                dest.insert(key.clone(), val.clone());
            }
        }
    }
}

/// `merge_recurse`.
pub fn merge_recurse(a: &Map, b: &Map, merge_lists: bool) -> Map {
    let mut out = a.clone();
    update(&mut out, b, merge_lists);
    out
}

/// `merge_list`: common keys become `[a_val, b_val]`; keys only in `b`
/// are dropped (as Salt's implementation does).
pub fn merge_list(a: &Map, b: &Map) -> Map {
    a.iter()
        .map(|(key, val)| match b.get(key) {
            Some(bv) => (key.clone(), Value::List(vec![val.clone(), bv.clone()])),
            None => (key.clone(), val.clone()),
        })
        .collect()
}

/// `aggregation.aggregate` with `level` deep levels marked as aggregates.
fn aggregate(a: &Value, b: &Value, level: u32, a_marked: bool, b_marked: bool) -> Value {
    let deep = level > 0;
    let (a_agg, b_agg) = (a_marked || deep, b_marked || deep);
    match (a, b) {
        (Value::Map(am), Value::Map(bm)) => {
            let mut resp = if a_agg && b_agg {
                am.clone()
            } else {
                bm.clone()
            };
            for (key, val) in bm {
                let v = match am.get(key) {
                    Some(av) => aggregate(av, val, level.saturating_sub(1), false, false),
                    None => val.clone(),
                };
                resp.insert(key.clone(), v);
            }
            Value::Map(resp)
        }
        _ if a_agg && b_agg => {
            let la = match a {
                Value::List(l) => l.clone(),
                other => vec![other.clone()],
            };
            let lb = match b {
                Value::List(l) => l.clone(),
                other => vec![other.clone()],
            };
            let mut out = la.clone();
            for v in lb {
                if !la.contains(&v) {
                    out.push(v);
                }
            }
            Value::List(out)
        }
        _ => b.clone(),
    }
}

/// `dictupdate.merge(obj_a, obj_b, strategy, renderer, merge_lists)`.
pub fn merge(a: &Map, b: &Map, strategy: &str, renderer: &str, merge_lists: bool) -> Map {
    let mut strategy = strategy;
    if strategy == "smart" {
        let last = renderer.rsplit('|').next().unwrap_or("");
        strategy = if last == "yamlex" || renderer.starts_with("yamlex_") {
            "aggregate"
        } else {
            "recurse"
        };
    }
    match strategy {
        "list" => merge_list(a, b),
        "recurse" => merge_recurse(a, b, merge_lists),
        "aggregate" => match aggregate(
            &Value::Map(a.clone()),
            &Value::Map(b.clone()),
            1,
            false,
            false,
        ) {
            Value::Map(m) => m,
            _ => Map::default(),
        },
        "overwrite" => {
            let mut a2 = a.clone();
            for (key, val) in b {
                if a2.contains_key(key) {
                    a2.insert(key.clone(), val.clone());
                }
            }
            merge_recurse(&a2, b, merge_lists)
        }
        _ => merge_recurse(a, b, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Map {
        match Value::from_json(&serde_json::from_str(s).expect("json")) {
            Value::Map(m) => m,
            _ => panic!("not a map"),
        }
    }

    #[test]
    fn strategies_match_salt() {
        // Expectations from Salt 3007.8's salt.utils.dictupdate.merge.
        let a = j(r#"{"x": {"a": 1, "l": [1, 2]}, "y": 1, "z": [1]}"#);
        let b = j(r#"{"x": {"b": 2, "l": [2, 3]}, "z": [2]}"#);
        let v = |m: Map| Value::Map(m).to_json().to_string();
        assert_eq!(
            v(merge(&a, &b, "smart", "jinja|yaml", false)),
            r#"{"x":{"a":1,"l":[2,3],"b":2},"y":1,"z":[2]}"#
        );
        assert_eq!(
            v(merge(&a, &b, "recurse", "yaml", true)),
            r#"{"x":{"a":1,"l":[1,2,3],"b":2},"y":1,"z":[1,2]}"#
        );
        assert_eq!(
            v(merge(&a, &b, "overwrite", "yaml", false)),
            r#"{"x":{"b":2,"l":[2,3]},"y":1,"z":[2]}"#
        );
        assert_eq!(
            v(merge(&a, &b, "aggregate", "yaml", false)),
            r#"{"x":{"b":2,"l":[2,3]},"y":1,"z":[2]}"#
        );
        assert_eq!(
            v(merge(&a, &b, "list", "yaml", false)),
            r#"{"x":[{"a":1,"l":[1,2]},{"b":2,"l":[2,3]}],"y":1,"z":[[1],[2]]}"#
        );
    }
}
