//! `call_listen`: after all chunks ran, every state that `listen`s to (or is
//! `listen_in`'d by) a state that changed gets its `mod_watch` called once,
//! as a new chunk with ID `listener_<id>` (requisites removed). References
//! to states that do not exist become `Listen_Error` results.

use super::{gen_tag, get, get_str, k, RunError, Running, State, STATE_REQUISITE_KEYWORDS};
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};
use std::collections::HashMap;

/// A chunk's `(state, __id__, name)`: Salt's `crefs` key.
type Cref = (Value, Value, Value);

/// `_l_tag`: the tag of a listen error.
fn l_tag(name: &str, id: &str) -> String {
    format!("Listen_Error_|-listen_{id}_|-listen_{name}_|-Listen_Error")
}

/// Python's `x in (state, id, name)`.
fn in_cref(v: &Value, cref: &Cref) -> bool {
    *v == cref.0 || *v == cref.1 || *v == cref.2
}

fn listen_error(errors: &mut Map, state: &Value, id: &Value) {
    let (s, i) = (str_of(state), str_of(id));
    let mut e = Map::default();
    e.insert(
        k("comment"),
        Value::Str(format!("Referenced state {s}: {i} does not exist")),
    );
    e.insert(k("name"), Value::Str(format!("listen_{s}:{i}")));
    e.insert(k("result"), Value::Bool(false));
    e.insert(k("changes"), Value::map());
    errors.insert(k(&l_tag(&s, &i)), Value::Map(e));
}

impl State<'_> {
    /// `call_listen`: the mod_watch pass; returns `running` with its results
    /// and errors added.
    pub(crate) fn call_listen(
        &mut self,
        chunks: &[Map],
        mut running: Running,
    ) -> Result<Running, RunError> {
        let field = |c: &Map, key: &str| get(c, key).cloned().unwrap_or(Value::Null);
        let cref_of = |c: &Map| (field(c, "state"), field(c, "__id__"), field(c, "name"));
        let mut listeners: Vec<(Cref, Vec<Value>)> = Vec::new();
        for chunk in chunks {
            if let Some(l) = get(chunk, "listen") {
                listeners.push((cref_of(chunk), super::as_items(Some(l))));
            }
            if let Some(Value::List(l_in)) = get(chunk, "listen_in") {
                for item in l_in {
                    let Value::Map(m) = item else { continue };
                    for (key, val) in m {
                        let mut target = Map::default();
                        target.insert(field(chunk, "state"), field(chunk, "__id__"));
                        listeners.push((
                            (key.clone(), val.clone(), Value::from("lookup")),
                            vec![Value::Map(target)],
                        ));
                    }
                }
            }
        }
        // Nothing listens: no mod_watch, no error (the common case).
        if listeners.is_empty() {
            return Ok(running);
        }
        // Each distinct cref once (in first-seen order), with the last
        // chunk that has it.
        let mut crefs: Vec<(Cref, &Map)> = Vec::new();
        let mut cref_index: HashMap<Cref, usize> = HashMap::new();
        for chunk in chunks {
            let cref = cref_of(chunk);
            match cref_index.get(&cref) {
                Some(&i) => crefs[i].1 = chunk,
                None => {
                    cref_index.insert(cref.clone(), crefs.len());
                    crefs.push((cref, chunk));
                }
            }
        }

        let mut mod_watchers: Vec<Map> = Vec::new();
        let mut errors = Map::default();
        for (key, targets) in &listeners {
            for listen_to in targets {
                let listen_to: Map = match listen_to {
                    Value::Map(m) => m.clone(),
                    other => {
                        // A bare ID or name: the last chunk that has it.
                        let mut found = None;
                        for chunk in chunks {
                            if field(chunk, "__id__") == *other || field(chunk, "name") == *other {
                                let mut m = Map::default();
                                m.insert(field(chunk, "state"), field(chunk, "__id__"));
                                found = Some(m);
                            }
                        }
                        match found {
                            Some(m) => m,
                            None => continue,
                        }
                    }
                };
                for (lkey, lval) in &listen_to {
                    let matches = |c: &Cref| *lkey == c.0 && in_cref(lval, c);
                    if !crefs.iter().any(|(c, _)| matches(c)) {
                        listen_error(&mut errors, lkey, lval);
                        continue;
                    }
                    let to_tags: Vec<String> = crefs
                        .iter()
                        .filter(|(c, _)| matches(c))
                        .map(|(_, data)| gen_tag(data))
                        .collect();
                    for to_tag in to_tags {
                        let changed = match running.get(&k(&to_tag)) {
                            Some(Value::Map(r)) => get(r, "changes").is_some_and(Value::truthy),
                            _ => continue,
                        };
                        if !changed {
                            continue;
                        }
                        let listener = |c: &Cref| key.0 == c.0 && in_cref(&key.1, c);
                        if !crefs.iter().any(|(c, _)| listener(c)) {
                            listen_error(&mut errors, &key.0, &key.1);
                            continue;
                        }
                        for (_, data) in crefs.iter().filter(|(c, _)| listener(c)) {
                            let mut low = (*data).clone();
                            let fun = field(data, "fun");
                            low.insert(k("sfun"), fun);
                            low.insert(k("fun"), Value::from("mod_watch"));
                            low.insert(
                                k("__id__"),
                                Value::Str(format!("listener_{}", get_str(data, "__id__"))),
                            );
                            for req in STATE_REQUISITE_KEYWORDS {
                                low.shift_remove(&k(req));
                            }
                            mod_watchers.push(low);
                        }
                    }
                }
            }
        }
        let pass = self.call_chunks(mod_watchers)?;
        for (tag, ret) in pass.running {
            running.insert(tag, ret);
        }
        for (tag, mut err) in errors {
            if let Value::Map(m) = &mut err {
                let n = self.next_run_num();
                m.insert(k("__run_num__"), n);
            }
            running.insert(tag, err);
        }
        Ok(running)
    }
}
