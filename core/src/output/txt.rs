//! The `txt` outputter (`salt/output/txt.py`): `key: line` per line of each
//! value, Python's `str()` for non-strings.

use super::nested::splitlines;
use super::pyrepr;
use super::SortMaps;
use crate::value::Value;

/// `sort` tells plain dicts from OrderedDicts (see [`SortMaps`]); depth 0
/// is `data` itself.
pub fn output(data: &Value, sort: &SortMaps) -> String {
    let is_dict = |depth: usize, m: &crate::value::Map| sort.sorts(depth, m);
    let mut ret = String::new();
    match data {
        Value::Map(m) => {
            for (k, v) in m {
                let key = pyrepr::str_of(k);
                match v {
                    Value::Str(s) => {
                        for line in splitlines(s) {
                            ret.push_str(&format!("{key}: {line}\n"));
                        }
                    }
                    Value::Bytes(b) => {
                        // bytes.splitlines() yields bytes: printed as b'...'.
                        let s = String::from_utf8_lossy(b);
                        for line in splitlines(&s) {
                            let r = pyrepr::bytes_repr(line.as_bytes());
                            ret.push_str(&format!("{key}: {r}\n"));
                        }
                    }
                    other => ret.push_str(&format!(
                        "{key}: {}\n",
                        pyrepr::repr_ordered(other, &is_dict, 1)
                    )),
                }
            }
        }
        Value::Str(s) => {
            ret.push_str(s);
            ret.push('\n');
        }
        // pprint.pformat: short values print as repr.
        other => {
            ret.push_str(&pyrepr::repr_ordered(other, &is_dict, 0));
            ret.push('\n');
        }
    }
    ret
}
