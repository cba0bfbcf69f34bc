//! Whether a state run succeeded: `salt.utils.state.check_result` with
//! `check_onfail_requisites` (a failure handled by an `onfail` state marked
//! `onfail_stop: False` does not fail the job when the handler succeeded),
//! and `_filter_running` for `terse` output.

use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

fn k(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// `split_low_tag`: `(state, __id__)` of a `state_|-id_|-name_|-fun` tag.
fn split_tag(tag: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = tag.split("_|-").collect();
    if parts.len() != 4 {
        return None;
    }
    Some((parts[0].to_string(), parts[1].to_string()))
}

/// `check_result(running, highstate=high)`: false for anything but a
/// non-empty dict of successful (or onfail-handled) results.
pub fn check_result(running: &Value, high: Option<&Map>) -> bool {
    let Value::Map(running) = running else {
        return false;
    };
    check_map(running, running, false, high)
}

fn check_map(data: &Map, running: &Map, recurse: bool, high: Option<&Map>) -> bool {
    if data.is_empty() {
        return false;
    }
    let mut ret = true;
    for (state_id, state_result) in data {
        let is_extend = state_id.as_str() == Some("__extend__");
        let type_ok = if is_extend {
            matches!(state_result, Value::List(_))
        } else {
            matches!(state_result, Value::Map(_))
        };
        if !recurse && !type_ok {
            ret = false;
        }
        if ret {
            if let Value::Map(sr) = state_result {
                match sr.get(&k("result")) {
                    Some(Value::Bool(false)) => ret = false,
                    None => ret = check_map(sr, running, true, high),
                    _ => {}
                }
            }
        }
        if !ret {
            ret = check_onfail_requisites(&str_of(state_id), state_result, running, high)
                .unwrap_or(false);
        }
        if !ret {
            break;
        }
    }
    ret
}

/// `search_onfail_requisites`: the `(id, module)` of states that have
/// `onfail_stop: False` and an `onfail` on this state.
fn search_onfail_requisites(sid: &str, high: &Map) -> Vec<(Value, Value)> {
    let (st_state, st_id) = match split_tag(sid) {
        Some((s, i)) if sid.contains("_|-") => (Some(s), i),
        _ => (None, sid.to_string()),
    };
    let mut onfails = Vec::new();
    for (fstate, fchunks) in high {
        if str_of(fstate) == st_id {
            continue;
        }
        let Value::Map(fchunks) = fchunks else {
            continue;
        };
        for (module, fchunk) in fchunks {
            let Some(m) = module.as_str() else { continue };
            if m.starts_with("__") {
                continue;
            }
            let Value::List(fchunk) = fchunk else {
                continue;
            };
            let mut handled = false;
            for fdata in fchunk {
                let Value::Map(fd) = fdata else { continue };
                handled = matches!(fd.get(&k("onfail_stop")), Some(Value::Bool(false)));
                if handled {
                    break;
                }
            }
            if !handled {
                continue;
            }
            for fdata in fchunk {
                let Value::Map(fd) = fdata else { continue };
                let Some(Value::List(reqs)) = fd.get(&k("onfail")) else {
                    continue;
                };
                for freqs in reqs {
                    let Value::Map(freqs) = freqs else { continue };
                    for (fmod, fid) in freqs {
                        let mod_ok = match &st_state {
                            Some(s) => str_of(fmod) == *s,
                            None => true,
                        };
                        if str_of(fid) == st_id && mod_ok {
                            onfails.push((fstate.clone(), module.clone()));
                        }
                    }
                }
            }
        }
    }
    onfails
}

/// `check_onfail_requisites`: `Some(true)` when the onfail handlers of a
/// failed state succeeded, `Some(false)` when one failed (or none ran),
/// `None` when it has no such handler.
fn check_onfail_requisites(
    state_id: &str,
    state_result: &Value,
    running: &Map,
    high: Option<&Map>,
) -> Option<bool> {
    let high = high?;
    if state_id.is_empty() || !state_result.truthy() {
        return None;
    }
    let onfails = search_onfail_requisites(state_id, high);
    if onfails.is_empty() {
        return None;
    }
    let mut nret: Option<bool> = None;
    for (fstate, module) in &onfails {
        for (rid, rstate) in running {
            let rid = str_of(rid);
            let (state, id) = match split_tag(&rid) {
                Some(p) if rid.contains("_|-") => p,
                _ => {
                    let id = rstate.get("__id__").map(str_of).unwrap_or(rid.clone());
                    (str_of(module), id)
                }
            };
            if str_of(module) == state && str_of(fstate) == id {
                if let Some(Value::Bool(b)) = rstate.get("result") {
                    nret = Some(*b);
                    if !b {
                        break;
                    }
                }
            }
        }
    }
    Some(nret.unwrap_or(false))
}

/// `_filter_running` (`terse`): only failures and changes.
pub fn filter_running(running: &Map) -> Map {
    running
        .iter()
        .filter(|(_, v)| {
            !v.get("result").is_some_and(Value::truthy)
                || v.get("changes").is_some_and(Value::truthy)
        })
        .map(|(t, v)| (t.clone(), v.clone()))
        .collect()
}
