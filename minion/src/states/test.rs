//! `test` states (salt/states/test.py): states that succeed, fail or
//! change on demand, for trying out requisites and output. Like Salt's,
//! the comment argument may be a list (the runtime joins it into lines).
//! Where Salt raises (bad arguments), the state fails with Salt's
//! "An exception occurred in this state: " comment.

use super::{Ret, StateCall, StateFunction};
use crate::runtime::call::exception;
use crate::runtime::gen_tag;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "nop",
        fun: nop,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "succeed_without_changes",
        fun: succeed_without_changes,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "fail_without_changes",
        fun: fail_without_changes,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "succeed_with_changes",
        fun: succeed_with_changes,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "fail_with_changes",
        fun: fail_with_changes,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "configurable_test_state",
        fun: configurable_test_state,
        required: &["name"],
        params: Some(&[
            "name",
            "changes",
            "result",
            "comment",
            "warnings",
            "allow_test_mode_failure",
        ]),
    },
    StateFunction {
        name: "show_notification",
        fun: show_notification,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "mod_watch",
        fun: mod_watch,
        required: &["name"],
        params: None,
    },
];

/// `name` as given (Salt keeps its type in the result).
fn name_of(call: &StateCall) -> Value {
    call.low
        .get(&Value::from("name"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The `{"testing": {"old": ..., "new": ...}}` change every test state reports.
fn change_data() -> Map {
    let mut inner = Map::default();
    inner.insert(Value::from("old"), Value::from("Unchanged"));
    inner.insert(
        Value::from("new"),
        Value::from("Something pretended to change"),
    );
    let mut m = Map::default();
    m.insert(Value::from("testing"), Value::Map(inner));
    m
}

/// `kwargs.get("comment", default)`, keeping lists and other types.
fn comment_or(call: &StateCall, default: &str) -> Value {
    call.low
        .get(&Value::from("comment"))
        .cloned()
        .unwrap_or_else(|| Value::from(default))
}

fn nop(call: &StateCall) -> Result<Ret, String> {
    // Salt's nop ignores its kwargs, including `comment`.
    let mut ret = Ret::new(name_of(call));
    ret.comment = Value::from("Success!");
    Ok(ret)
}

fn succeed_without_changes(call: &StateCall) -> Result<Ret, String> {
    let mut ret = Ret::new(name_of(call));
    ret.comment = comment_or(call, "Success!");
    Ok(ret)
}

fn fail_without_changes(call: &StateCall) -> Result<Ret, String> {
    let mut ret = Ret::new(name_of(call));
    ret.result = Some(false);
    ret.comment = comment_or(call, "Failure!");
    if call.test {
        ret.comment = Value::from("If we weren't testing, this would be a failure!");
    }
    Ok(ret)
}

fn succeed_with_changes(call: &StateCall) -> Result<Ret, String> {
    let mut ret = Ret::new(name_of(call));
    ret.comment = comment_or(call, "Success!");
    ret.changes = change_data();
    if call.test {
        ret.result = None;
        ret.comment = Value::from("If we weren't testing, this would be successful with changes");
    }
    Ok(ret)
}

fn fail_with_changes(call: &StateCall) -> Result<Ret, String> {
    let mut ret = Ret::new(name_of(call));
    ret.result = Some(false);
    ret.comment = comment_or(call, "Failure!");
    ret.changes = change_data();
    if call.test {
        ret.result = None;
        ret.comment = Value::from("If we weren't testing, this would be failed with changes");
    }
    Ok(ret)
}

/// `changes`/`result` accept True, False or "Random" (any case).
enum Choice {
    Yes,
    No,
    Random,
}

fn choice(v: Option<&Value>, default: bool) -> Option<Choice> {
    match v {
        None => Some(if default { Choice::Yes } else { Choice::No }),
        Some(Value::Bool(true)) => Some(Choice::Yes),
        Some(Value::Bool(false)) => Some(Choice::No),
        Some(other) => {
            let s = brine_core::output::pyrepr::str_of(other);
            (s.to_lowercase() == "random").then_some(Choice::Random)
        }
    }
}

/// A coin toss for the "Random" choices.
fn coin() -> bool {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 2 == 0)
        .unwrap_or(true)
}

fn configurable_test_state(call: &StateCall) -> Result<Ret, String> {
    let arg = |key: &str| call.low.get(&Value::from(key));
    let mut ret = Ret::new(name_of(call));
    ret.result = Some(false);
    ret.comment = arg("comment").cloned().unwrap_or_else(|| Value::from(""));
    let changes_arg = choice(arg("changes"), true).ok_or_else(|| {
        exception("You have specified the state option 'changes' with invalid arguments. It must be either True, False, or 'Random'")
    })?;
    let changes_is_false = matches!(changes_arg, Choice::No);
    match changes_arg {
        Choice::Yes => ret.changes = change_data(),
        Choice::No => {}
        Choice::Random => {
            if coin() {
                ret.changes = change_data();
            }
        }
    }
    let result_false = matches!(arg("result"), Some(Value::Bool(false)));
    ret.result = Some(match arg("result") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => match choice(arg("result"), true) {
            Some(Choice::Random) => coin(),
            _ => return Err(exception("You have specified the state option 'result' with invalid arguments. It must be either True, False, or 'Random'")),
        },
    });
    match arg("warnings") {
        None | Some(Value::Null) => {}
        Some(Value::Str(s)) => {
            ret.extra.insert(
                Value::from("warnings"),
                Value::List(vec![Value::Str(s.clone())]),
            );
        }
        Some(Value::List(l)) => {
            ret.extra
                .insert(Value::from("warnings"), Value::List(l.clone()));
        }
        Some(_) => return Err(exception("You have specified the state option 'warnings' with invalid arguments. It must be a string or a list of strings")),
    }
    if call.test {
        let allow = arg("allow_test_mode_failure").is_some_and(Value::truthy);
        ret.result = if allow && result_false {
            Some(false)
        } else if changes_is_false {
            Some(true)
        } else {
            None
        };
        if !ret.comment.truthy() {
            ret.comment = Value::from("This is a test");
        }
    }
    Ok(ret)
}

fn show_notification(call: &StateCall) -> Result<Ret, String> {
    let text = call
        .low
        .get(&Value::from("text"))
        .filter(|t| t.truthy())
        .cloned()
        .ok_or_else(|| exception("Missing required argument text."))?;
    let mut ret = Ret::new(name_of(call));
    ret.comment = text;
    Ok(ret)
}

/// `mod_watch`: "Watch statement fired." with the watched states that
/// changed; `result`, `comment` and `changes` may be overridden.
fn mod_watch(call: &StateCall) -> Result<Ret, String> {
    let mut has_changes = Vec::new();
    if let Some(Value::Map(reqs)) = call.low.get(&Value::from("__reqs__")) {
        if let Some(Value::List(watch)) = reqs.get(&Value::from("watch")) {
            for req in watch {
                let Value::Map(req) = req else { continue };
                let tag = gen_tag(req);
                let changed = call
                    .running
                    .get(&Value::Str(tag))
                    .and_then(|r| r.get("changes"))
                    .is_some_and(Value::truthy);
                if changed {
                    let g = |k: &str| {
                        req.get(&Value::from(k))
                            .map(brine_core::output::pyrepr::str_of)
                            .unwrap_or_default()
                    };
                    has_changes.push(Value::Str(format!("{}: {}", g("state"), g("__id__"))));
                }
            }
        }
    }
    let arg = |key: &str| call.low.get(&Value::from(key)).cloned();
    let mut ret = Ret::new(name_of(call));
    ret.result = match arg("result") {
        None => Some(true),
        Some(Value::Null) => None,
        Some(v) => Some(v.truthy()),
    };
    ret.comment = arg("comment").unwrap_or_else(|| Value::from("Watch statement fired."));
    match arg("changes") {
        None => {
            let mut m = Map::default();
            m.insert(
                Value::from("Requisites with changes"),
                Value::List(has_changes),
            );
            ret.changes = m;
        }
        Some(Value::Map(m)) => ret.changes = m,
        Some(_) => return Err(exception("'Changes' should be a dictionary.")),
    }
    Ok(ret)
}
