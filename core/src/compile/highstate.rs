//! Whole-highstate passes of `salt.state.State`: `reconcile_extend`,
//! `verify_high` (with Salt's exact error wording), `requisite_in` (the
//! `*_in`, `use` and `prereq` expansion) and `apply_exclude`.

use super::sls::glob;
use super::util::{first_key, hashable, k, pstr, single, sls_of, starts};
use super::Errors;
use crate::value::{Map, MapHasher, Value};
use indexmap::IndexMap;
use std::borrow::Cow;

/// `STATE_REQUISITE_KEYWORDS`: args whose lists `extend` merges instead of
/// replacing.
pub const STATE_REQUISITE_KEYWORDS: &[&str] = &[
    "onchanges",
    "onchanges_any",
    "onfail",
    "onfail_any",
    "onfail_all",
    "onfail_stop",
    "prereq",
    "prerequired",
    "watch",
    "watch_any",
    "require",
    "require_any",
    "listen",
];

fn first_key_str(v: &Value) -> Option<&str> {
    v.as_map().and_then(first_key).and_then(Value::as_str)
}

/// `find_name`: the `(id, state)` pairs a requisite or extend target names,
/// by ID, by `sls`, or by a `name:` argument.
pub fn find_name(name: &Value, state: &str, high: &Map, strict: bool) -> Vec<(Value, String)> {
    let mut out = Vec::new();
    let check2 = !strict || high.get(name).and_then(|b| b.get(state)).is_some();
    if high.contains_key(name) && check2 {
        out.push((name.clone(), state.to_string()));
    } else if state == "sls" {
        for (nid, item) in high {
            if item.get("__sls__") == Some(name) {
                if let Some(fk) = item.as_map().and_then(first_key) {
                    out.push((nid.clone(), pstr(fk)));
                }
            }
        }
    } else {
        for (nid, body) in high {
            if let Some(Value::List(args)) = body.get(state) {
                for arg in args {
                    if let Value::Map(m) = arg {
                        if m.len() == 1 && m.values().next() == Some(name) {
                            out.push((nid.clone(), state.to_string()));
                        }
                    }
                }
            }
        }
    }
    out
}

/// `state_args`: the single-key argument names of `high[id][state]`.
fn state_args(id: &Value, state: &str, high: &Map) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(Value::List(args)) = high.get(id).and_then(|b| b.get(state)) {
        for arg in args {
            if let Value::Map(m) = arg {
                if m.len() == 1 {
                    if let Some(fk) = first_key(m) {
                        if !out.contains(fk) {
                            out.push(fk.clone());
                        }
                    }
                }
            }
        }
    }
    out
}

/// `find_sls_ids`: every `(id, state)` declared by one SLS.
fn find_sls_ids(sls: &Value, high: &Map) -> Vec<(Value, String)> {
    let mut out = Vec::new();
    for (nid, item) in high {
        let Value::Map(body) = item else { continue };
        if body.get(&k("__sls__")) == Some(sls) {
            for st in body.keys() {
                if starts(st, "__") {
                    continue;
                }
                out.push((nid.clone(), pstr(st)));
            }
        }
    }
    out
}

/// `reconcile_extend`: apply `__extend__` to the high data.
pub fn reconcile_extend(mut high: Map, strict: bool) -> (Map, Errors) {
    let mut errors = Vec::new();
    let Some(ext) = high.shift_remove(&k("__extend__")) else {
        return (high, errors);
    };
    let Value::List(ext) = ext else {
        return (high, errors);
    };
    for chunk in ext {
        let Value::Map(chunk) = chunk else { continue };
        for (name, body) in chunk {
            let Value::Map(body) = body else { continue };
            let Some(state_type) = body.keys().find(|x| !starts(x, "__")).map(pstr) else {
                continue;
            };
            let mut name = name;
            let present = high.get(&name).and_then(|b| b.get(&state_type)).is_some();
            if !present {
                let ids = find_name(&name, &state_type, &high, strict);
                if ids.len() != 1 {
                    let env = body
                        .get(&k("__env__"))
                        .map(pstr)
                        .unwrap_or_else(|| "base".into());
                    let sls = body
                        .get(&k("__sls__"))
                        .map(pstr)
                        .unwrap_or_else(|| "base".into());
                    let n = pstr(&name);
                    errors.push(format!(
                        "Cannot extend ID '{n}' in '{env}:{sls}'. It is not part of the high state.\n\
                         This is likely due to a missing include statement or an incorrectly typed ID.\n\
                         Ensure that a state with an ID of '{n}' is available\nin environment '{env}' and to SLS '{sls}'"
                    ));
                    continue;
                }
                name = ids[0].0.clone();
            }
            let mut sls_excludes = Vec::new();
            if let Some(Value::List(exc)) = high.get(&k("__exclude__")) {
                for e in exc {
                    match e {
                        Value::Str(_) => sls_excludes.push(e.clone()),
                        Value::Map(m) => {
                            if let Some(s) = m.get(&k("sls")).filter(|s| s.truthy()) {
                                sls_excludes.push(s.clone());
                            }
                        }
                        _ => {}
                    }
                }
            }
            if let Some(s) = body.get(&k("__sls__")) {
                if sls_excludes.contains(s) {
                    continue;
                }
            }
            let Some(Value::Map(target)) = high.get_mut(&name) else {
                continue;
            };
            for (state, run) in body {
                if starts(&state, "__") {
                    continue;
                }
                let Some(existing) = target.get_mut(&state) else {
                    target.insert(state, run);
                    continue;
                };
                let (Value::List(existing), Value::List(run)) = (existing, run) else {
                    continue;
                };
                for arg in run {
                    let mut update = false;
                    for slot in existing.iter_mut() {
                        match (&arg, &*slot) {
                            (Value::Str(_), Value::Str(_)) => {
                                *slot = arg.clone();
                                update = true;
                            }
                            (Value::Map(am), Value::Map(_)) => {
                                let argfirst = first_key(am).cloned();
                                let hfirst = slot.as_map().and_then(first_key).cloned();
                                if argfirst.is_some() && argfirst == hfirst {
                                    let af = argfirst.clone().unwrap_or_default();
                                    let is_req = af
                                        .as_str()
                                        .is_some_and(|s| STATE_REQUISITE_KEYWORDS.contains(&s));
                                    let mut extended = false;
                                    if is_req {
                                        if let (Some(Value::List(dst)), Some(Value::List(src))) = (
                                            slot.as_map_mut().and_then(|m| m.get_mut(&af)),
                                            am.get(&af),
                                        ) {
                                            dst.extend(src.iter().cloned());
                                            extended = true;
                                        }
                                    }
                                    if !extended {
                                        *slot = arg.clone();
                                    }
                                    update = true;
                                }
                                if argfirst.as_ref().and_then(Value::as_str) == Some("name")
                                    && first_key_str(slot) == Some("names")
                                {
                                    *slot = arg.clone();
                                }
                            }
                            _ => {}
                        }
                    }
                    if !update {
                        existing.push(arg);
                    }
                }
            }
        }
    }
    (high, errors)
}

/// `apply_exclude`: drop IDs named by `__exclude__` (`- id:` entries, and
/// every ID of SLS matched by `- sls:` globs or plain strings).
pub fn apply_exclude(mut high: Map) -> Map {
    let Some(exclude) = high.shift_remove(&k("__exclude__")) else {
        return high;
    };
    let mut ex_sls: Vec<String> = Vec::new();
    let mut ex_id: Vec<Value> = Vec::new();
    if let Value::List(items) = exclude {
        for exc in items {
            match exc {
                Value::Str(s) => ex_sls.push(s),
                Value::Map(m) if m.len() == 1 => {
                    let (key, val) = m.into_iter().next().unwrap_or_default();
                    match key.as_str() {
                        Some("sls") => ex_sls.push(pstr(&val)),
                        Some("id") => ex_id.push(val),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
    if !ex_sls.is_empty() {
        for (name, body) in &high {
            if starts(name, "__") {
                continue;
            }
            let sls = body.get("__sls__").map(pstr).unwrap_or_default();
            if sls.is_empty() {
                continue;
            }
            if ex_sls.iter().any(|pat| glob(&sls, pat)) {
                ex_id.push(name.clone());
            }
        }
    }
    for id in ex_id {
        high.shift_remove(&id);
    }
    high
}

/// `State.verify_high`: structural errors, in Salt's words.
pub fn verify_high(high: &Map) -> Errors {
    let mut errors = Vec::new();
    let (state_key, id_key) = (k("state"), k("id"));
    // reqs[name] = {"state": state, req_val: req_key, ...}, borrowing from
    // the high data.
    type Reqs<'v> = IndexMap<&'v Value, &'v Value, MapHasher>;
    let mut reqs: IndexMap<&Value, Reqs<'_>, MapHasher> = IndexMap::default();
    for (name, body) in high {
        if starts(name, "__") {
            continue;
        }
        // The SLS and ID strings are only made for error messages.
        let sls = || sls_of(body);
        if !matches!(name, Value::Str(_)) {
            errors.push(format!(
                "ID '{}' in SLS '{sls}' is not formed as a string, but is a {}. It may need to be quoted.",
                pstr(name),
                name.type_name(), sls = sls()));
        }
        let Value::Map(b) = body else {
            errors.push(format!(
                "The type {} in {} is not formatted as a dictionary",
                pstr(name),
                pstr(body)
            ));
            continue;
        };
        let n = || pstr(name);
        for (state, run) in b {
            if starts(state, "__") {
                continue;
            }
            let st: Cow<'_, str> = match state {
                Value::Str(s) => Cow::Borrowed(s),
                other => Cow::Owned(pstr(other)),
            };
            if run.is_null() {
                errors.push(format!(
                    "ID '{n}' in SLS '{sls}' contains a short declaration ({st}) with a trailing colon. When not passing any arguments to a state, the colon must be omitted.", sls = sls(), n = n()));
                continue;
            }
            let Value::List(args) = run else {
                errors.push(format!(
                    "State '{n}' in SLS '{sls}' is not formed as a list",
                    sls = sls(),
                    n = n()
                ));
                continue;
            };
            let mut fun = usize::from(st.contains('.'));
            for arg in args {
                match arg {
                    Value::Str(a) => {
                        fun += 1;
                        if a.trim().contains(' ') {
                            errors.push(format!(
                                "The function \"{a}\" in state \"{n}\" in SLS \"{sls}\" has whitespace, a function with whitespace is not supported, perhaps this is an argument that is missing a \":\"", sls = sls(), n = n()));
                        }
                    }
                    Value::Map(am) => {
                        let Some((argfirst, argval)) = am.first() else {
                            continue;
                        };
                        let af = argfirst.as_str().unwrap_or("");
                        if af == "names" && !matches!(argval, Value::List(_)) {
                            errors.push(format!(
                                "The 'names' argument in state '{n}' in SLS '{sls}' needs to be formed as a list", sls = sls(), n = n()));
                        }
                        if ["require", "watch", "prereq", "onchanges"].contains(&af) {
                            match argval {
                                Value::List(rl) => {
                                    // reqs[name] = {"state": state}
                                    let entry = reqs.entry(name).or_default();
                                    entry.clear();
                                    entry.reserve(rl.len() + 1);
                                    entry.insert(&state_key, state);
                                    for req in rl {
                                        // A plain string is `{"id": req}`.
                                        let (req_key, req_val) = match req {
                                            Value::Str(_) => (&id_key, req),
                                            Value::Map(rm) => match rm.first() {
                                                Some(kv) => kv,
                                                None => continue,
                                            },
                                            other => {
                                                errors.push(format!(
                                                    "Requisite declaration {} in SLS {sls} is not formed as a single key dictionary",
                                                    pstr(other),
                                                    sls = sls()
                                                ));
                                                continue;
                                            }
                                        };
                                        let rk: Cow<'_, str> = match req_key {
                                            Value::Str(s) => Cow::Borrowed(s),
                                            other => Cow::Owned(pstr(other)),
                                        };
                                        if let Some(pos) = rk.find('.') {
                                            errors.push(format!(
                                                "Invalid requisite type '{rk}' in state '{n}', in SLS '{sls}'. Requisite types must not contain dots, did you mean '{}'?",
                                                &rk[..pos], sls = sls(), n = n()));
                                        }
                                        if !hashable(req_val) {
                                            errors.push(format!(
                                                "Illegal requisite \"{}\", please check your syntax.\n",
                                                pstr(req_val)
                                            ));
                                            continue;
                                        }
                                        if let Some(e) = reqs.get_mut(&name) {
                                            e.insert(req_val, req_key);
                                        }
                                        let recursive = reqs.get(&req_val).is_some_and(|other| {
                                            other.get(&name) == Some(&state)
                                                && other.get(&&state_key)
                                                    == reqs.get(&name).and_then(|m| m.get(&req_val))
                                        });
                                        if recursive {
                                            errors.push(format!(
                                                "A recursive requisite was found, SLS \"{sls}\" ID \"{n}\" ID \"{}\"",
                                                pstr(req_val), sls = sls(), n = n()));
                                        }
                                    }
                                }
                                _ => errors.push(format!(
                                    "The {af} statement in state '{n}' in SLS '{sls}' needs to be formed as a list", sls = sls(), n = n())),
                            }
                            // Only checked for requisite arguments, as in Salt.
                            if am.len() != 1 {
                                errors.push(format!(
                                    "Multiple dictionaries defined in argument of state '{n}' in SLS '{sls}'", sls = sls(), n = n()));
                            }
                        }
                    }
                    _ => {}
                }
            }
            if fun == 0 {
                if st == "require" || st == "watch" {
                    continue;
                }
                errors.push(format!(
                    "No function declared in state '{n}' in SLS '{sls}'",
                    sls = sls(),
                    n = n()
                ));
            } else if fun > 1 {
                let mut funs: Vec<String> = Vec::new();
                if let Some((_, f)) = st.split_once('.') {
                    funs.push(f.to_string());
                }
                funs.extend(args.iter().filter_map(|a| a.as_str().map(String::from)));
                errors.push(format!(
                    "Too many functions declared in state '{n}' in SLS '{sls}'. Please choose one of the following: {}",
                    funs.join(", "), sls = sls(), n = n()));
            }
        }
    }
    errors
}

/// The accumulating `extend` map of `requisite_in`.
#[derive(Default)]
struct Extend {
    m: IndexMap<Value, Map>,
}

impl Extend {
    fn body(&mut self, id: &Value) -> &mut Map {
        self.m.entry(id.clone()).or_default()
    }
    fn state_list(&mut self, id: &Value, state: &str) -> &mut Vec<Value> {
        let body = self.body(id);
        let v = body.entry(k(state)).or_insert_with(|| Value::List(vec![]));
        if !matches!(v, Value::List(_)) {
            *v = Value::List(vec![]);
        }
        match v {
            Value::List(l) => l,
            _ => unreachable!("just made a list"),
        }
    }
    /// The generic requisite_in: `extend[name][_state]` gets
    /// `{rkey: [{state: id_}]}`, or grows an existing `rkey` entry.
    fn add_req(
        &mut self,
        name: &Value,
        target_state: &str,
        rkey: &str,
        state: &Value,
        id: &Value,
        src: &Map,
    ) {
        self.state_list(name, target_state);
        let body = self.body(name);
        body.insert(
            k("__env__"),
            src.get(&k("__env__")).cloned().unwrap_or_default(),
        );
        body.insert(
            k("__sls__"),
            src.get(&k("__sls__")).cloned().unwrap_or_default(),
        );
        let list = self.state_list(name, target_state);
        let req = single(state.clone(), id.clone());
        let mut found = false;
        for item in list.iter_mut() {
            if let Value::Map(m) = item {
                if first_key(m).and_then(Value::as_str) == Some(rkey) {
                    if let Some(Value::List(l)) = m.get_mut(&k(rkey)) {
                        l.push(req.clone());
                    }
                    found = true;
                }
            }
        }
        if !found {
            list.push(single(k(rkey), Value::List(vec![req])));
        }
    }
}

/// `requisite_in`: turn `require_in`/`watch_in`/`onchanges_in`/`onfail_in`/
/// `prereq_in`/`prereq`/`use`/`use_in` into extends, then reconcile them.
pub fn requisite_in(mut high: Map, disabled: Option<&Value>) -> (Map, Errors) {
    const REQ_IN: &[&str] = &[
        "require_in",
        "watch_in",
        "onfail_in",
        "onchanges_in",
        "use",
        "use_in",
        "prereq",
        "prereq_in",
    ];
    const REQ_IN_ALL_EXTRA: &[&str] = &["require", "watch", "onfail", "onfail_stop", "onchanges"];
    let disabled: Vec<Value> = match disabled {
        Some(Value::List(l)) => l.clone(),
        Some(Value::Null) | None => vec![],
        Some(other) => vec![other.clone()],
    };
    let mut extend = Extend::default();
    let mut errors = Vec::new();
    let ignore_base = |v: &Value| {
        v.as_str()
            .is_some_and(|s| REQ_IN.contains(&s) || REQ_IN_ALL_EXTRA.contains(&s))
    };
    for (id, body) in &high {
        let Value::Map(b) = body else { continue };
        for (state, run) in b {
            if starts(state, "__") {
                continue;
            }
            let Value::List(run) = run else { continue };
            let st = pstr(state);
            for arg in run {
                let Value::Map(am) = arg else { continue };
                let Some(key) = first_key(am).and_then(Value::as_str) else {
                    continue;
                };
                if !REQ_IN.contains(&key) || disabled.contains(&k(key)) {
                    continue;
                }
                let rkey = key.split('_').next().unwrap_or(key);
                let items = am.get(&k(key)).cloned().unwrap_or_default();
                if let Value::Map(items) = &items {
                    for (_state, name) in items {
                        let mut ts = pstr(_state);
                        if let Some(pos) = ts.find('.') {
                            errors.push(format!(
                                "Invalid requisite in {rkey}: {ts} for {}, in SLS '{}'. Requisites must not contain dots, did you mean '{}'?",
                                pstr(name),
                                sls_of(body),
                                &ts[..pos]
                            ));
                            ts = ts[..pos].to_string();
                        }
                        extend.add_req(name, &ts, rkey, state, id, b);
                    }
                }
                let Value::List(items) = items else { continue };
                let mut hinges: Vec<(Value, String)> = Vec::new();
                for ind in items {
                    let ind = match ind {
                        Value::Map(m) => m,
                        other => {
                            if let Some(Value::Map(hb)) = high.get(&other) {
                                match hb.keys().find(|x| !starts(x, "__")) {
                                    Some(s0) => {
                                        let mut m = Map::default();
                                        m.insert(s0.clone(), other.clone());
                                        m
                                    }
                                    None => continue,
                                }
                            } else {
                                let mut found: Option<Map> = None;
                                for (hid, hbody) in &high {
                                    let Value::Map(hb) = hbody else { continue };
                                    for (st8, args) in hb {
                                        if starts(st8, "__") {
                                            continue;
                                        }
                                        let Value::List(args) = args else { continue };
                                        for j in args {
                                            if let Value::Map(jm) = j {
                                                if jm.get(&k("name")) == Some(&other)
                                                    && found.is_none()
                                                {
                                                    let mut m = Map::default();
                                                    m.insert(st8.clone(), hid.clone());
                                                    found = Some(m);
                                                }
                                            }
                                        }
                                    }
                                }
                                match found {
                                    Some(m) => m,
                                    None => continue,
                                }
                            }
                        }
                    };
                    let Some((pstate_v, pname)) = ind.iter().next() else {
                        continue;
                    };
                    let mut pstate = pstr(pstate_v);
                    if pstate == "sls" {
                        hinges = find_sls_ids(pname, &high);
                    } else {
                        hinges.push((pname.clone(), pstate.clone()));
                    }
                    if let Some(pos) = pstate.find('.') {
                        errors.push(format!(
                            "Invalid requisite in {rkey}: {pstate} for {}, in SLS '{}'. Requisites must not contain dots, did you mean '{}'?",
                            pstr(pname),
                            sls_of(body),
                            &pstate[..pos]
                        ));
                        pstate = pstate[..pos].to_string();
                    }
                    let _ = &pstate;
                    for (name, _state) in hinges.clone() {
                        if key == "prereq_in" {
                            extend.state_list(id, &st).push(single(
                                k("prerequired"),
                                Value::List(vec![single(k(&_state), name.clone())]),
                            ));
                        }
                        if key == "prereq" {
                            for (ext_id, req_state) in find_name(&name, &_state, &high, true) {
                                extend.state_list(&ext_id, &req_state).push(single(
                                    k("prerequired"),
                                    Value::List(vec![single(state.clone(), id.clone())]),
                                ));
                            }
                            continue;
                        }
                        if key == "use_in" {
                            for (ext_id, req_state) in find_name(&name, &_state, &high, true) {
                                if !ext_id.truthy() {
                                    continue;
                                }
                                let ext_args = state_args(&ext_id, &_state, &high);
                                let list = extend.state_list(&ext_id, &req_state);
                                for a in run {
                                    let Value::Map(m) = a else { continue };
                                    if m.len() != 1 {
                                        continue;
                                    }
                                    let Some(fk) = first_key(m) else { continue };
                                    if ignore_base(fk) || ext_args.contains(fk) {
                                        continue;
                                    }
                                    if fk.as_str() == Some("name") || fk.as_str() == Some("names") {
                                        continue;
                                    }
                                    list.push(a.clone());
                                }
                            }
                            continue;
                        }
                        if key == "use" {
                            for (ext_id, req_state) in find_name(&name, &_state, &high, true) {
                                if !ext_id.truthy() {
                                    continue;
                                }
                                let loc_args = state_args(id, &st, &high);
                                let src: Vec<Value> =
                                    match high.get(&ext_id).and_then(|b| b.get(&req_state)) {
                                        Some(Value::List(l)) => l.clone(),
                                        _ => vec![],
                                    };
                                let list = extend.state_list(id, &st);
                                for a in src {
                                    let Value::Map(m) = &a else { continue };
                                    if m.len() != 1 {
                                        continue;
                                    }
                                    let Some(fk) = first_key(m) else { continue };
                                    if ignore_base(fk) || loc_args.contains(fk) {
                                        continue;
                                    }
                                    if fk.as_str() == Some("name") || fk.as_str() == Some("names") {
                                        continue;
                                    }
                                    list.push(a.clone());
                                }
                            }
                            continue;
                        }
                        extend.add_req(&name, &_state, rkey, state, id, b);
                    }
                }
            }
        }
    }
    let ext_list: Vec<Value> = extend
        .m
        .into_iter()
        .map(|(key, val)| single(key, Value::Map(val)))
        .collect();
    high.insert(k("__extend__"), Value::List(ext_list));
    let (high, errs) = reconcile_extend(high, true);
    errors.extend(errs);
    (high, errors)
}
