//! `slsutil` (salt/modules/slsutil.py): merge and merge_all with
//! `salt.utils.dictupdate.merge`'s strategies, update, boolstr,
//! file_exists/dir_exists/path_exists (in `file_roots`), renderer.

use super::{bind, Context, ModFn};
use brine_core::config::dictupdate;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("merge", merge),
    ("merge_all", merge_all),
    ("update", update),
    ("boolstr", boolstr),
    ("file_exists", file_exists),
    ("dir_exists", dir_exists),
    ("path_exists", path_exists),
    ("renderer", renderer),
];

/// `salt.utils.dictupdate.merge(obj_a, obj_b, strategy, renderer,
/// merge_lists)` (the `aggregate` strategy of yamlex is not supported).
pub fn dict_merge(
    a: &Value,
    b: &Value,
    strategy: &str,
    renderer: &str,
    merge_lists: bool,
) -> Result<Value, String> {
    let (Value::Map(am), Value::Map(bm)) = (a, b) else {
        return Err("Cannot update using non-dict types in dictupdate.update()".into());
    };
    let strategy = if strategy == "smart" {
        let last = renderer.rsplit('|').next().unwrap_or(renderer);
        if last == "yamlex" || renderer.starts_with("yamlex_") {
            "aggregate"
        } else {
            "recurse"
        }
    } else {
        strategy
    };
    let recurse = |a: &Map, lists: bool| {
        let mut copied = a.clone();
        dictupdate(&mut copied, bm, lists);
        Value::Map(copied)
    };
    Ok(match strategy {
        "list" => {
            let mut ret = Map::default();
            for (k, v) in am {
                match bm.get(k) {
                    Some(bv) => ret.insert(k.clone(), Value::List(vec![v.clone(), bv.clone()])),
                    None => ret.insert(k.clone(), v.clone()),
                };
            }
            Value::Map(ret)
        }
        "recurse" => recurse(am, merge_lists),
        "overwrite" => {
            let mut a2 = am.clone();
            for (k, v) in bm {
                if a2.contains_key(k) {
                    a2.insert(k.clone(), v.clone());
                }
            }
            recurse(&a2, merge_lists)
        }
        "none" => recurse(am, false),
        "aggregate" => {
            return Err("the yamlex 'aggregate' merge strategy is not supported by Brine".into())
        }
        other => {
            tracing::warn!("Unknown merging strategy '{}', fallback to recurse", other);
            recurse(am, false)
        }
    })
}

fn merge(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "slsutil.merge",
        &["obj_a", "obj_b", "strategy", "renderer", "merge_lists"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    dict_merge(
        &b.get(0, Value::Null),
        &b.get(1, Value::Null),
        &b.str(2).unwrap_or("smart".into()),
        &b.str(3).unwrap_or("yaml".into()),
        b.get(4, Value::Bool(false)).truthy(),
    )
}

fn merge_all(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "slsutil.merge_all",
        &["lst", "strategy", "renderer", "merge_lists"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let strategy = b.str(1).unwrap_or("smart".into());
    let renderer = b.str(2).unwrap_or("yaml".into());
    let merge_lists = b.get(3, Value::Bool(false)).truthy();
    let mut ret = Value::map();
    let lst = b.get(0, Value::Null);
    let Value::List(items) = lst else {
        return Err(format!(
            "'{}' object is not iterable",
            str_of(&Value::from(lst.type_name()))
        ));
    };
    for obj in &items {
        ret = dict_merge(&ret, obj, &strategy, &renderer, merge_lists)?;
    }
    Ok(ret)
}

/// `slsutil.update dest upd [recursive_update] [merge_lists]`.
fn update(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "slsutil.update",
        &["dest", "upd", "recursive_update", "merge_lists"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let (Value::Map(mut d), Value::Map(u)) = (b.get(0, Value::Null), b.get(1, Value::Null)) else {
        return Err("Cannot update using non-dict types in dictupdate.update()".into());
    };
    if b.get(2, Value::Bool(true)).truthy() {
        dictupdate(&mut d, &u, b.get(3, Value::Bool(false)).truthy());
    } else {
        for (k, v) in u {
            d.insert(k, v);
        }
    }
    Ok(Value::Map(d))
}

fn boolstr(_: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "slsutil.boolstr",
        &["value", "true", "false"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    Ok(if b.get(0, Value::Null).truthy() {
        b.get(1, Value::from("true"))
    } else {
        b.get(2, Value::from("false"))
    })
}

fn exists(
    ctx: &Context,
    fun: &str,
    args: Vec<Value>,
    kwargs: Map,
    files: bool,
    dirs: bool,
) -> Result<Value, String> {
    let b = bind(fun, &["path", "saltenv"], 1, false, false, args, kwargs)?;
    let path = b.get(0, Value::Null);
    let path = str_of(&path);
    let saltenv = b.str(1).unwrap_or("base".into());
    let client = ctx.file_client(&ctx.opts);
    let hit = (files && client.list_files(&saltenv).contains(&path))
        || (dirs && client.list_dirs(&saltenv).contains(&path));
    Ok(Value::Bool(hit))
}

fn file_exists(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    exists(ctx, "slsutil.file_exists", args, kwargs, true, false)
}

fn dir_exists(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    exists(ctx, "slsutil.dir_exists", args, kwargs, false, true)
}

fn path_exists(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    exists(ctx, "slsutil.path_exists", args, kwargs, true, true)
}

/// `slsutil.renderer path=|string= default_renderer=`: run a template
/// through a render pipeline (its shebang or `default_renderer`).
fn renderer(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "slsutil.renderer",
        &["path", "string", "default_renderer"],
        0,
        false,
        true,
        args,
        kwargs,
    )?;
    let path = b.opt(0).filter(|v| v.truthy()).map(str_of);
    let string = b.opt(1).filter(|v| v.truthy()).map(str_of);
    let saltenv = b
        .kwargs
        .get(&Value::from("saltenv"))
        .map(str_of)
        .unwrap_or("base".into());
    let client = ctx.file_client(&ctx.opts);
    let (text, name) = match (path, string) {
        (None, None) => return Err(super::invalid_args("Must pass either path or string")),
        (Some(_), Some(_)) => {
            return Err(super::invalid_args("Must not pass both path and string"))
        }
        (None, Some(s)) => (s, ":string:".to_string()),
        (Some(p), None) => {
            let rel = p.strip_prefix("salt://").unwrap_or(&p).to_string();
            match client.get(&rel, &saltenv) {
                Ok(Some(f)) => (String::from_utf8_lossy(&f.bytes).into_owned(), rel),
                _ => return Ok(Value::map()),
            }
        }
    };
    let default_renderer = b.str(2).unwrap_or("jinja|yaml".into());
    let pillar = ctx.pillar();
    let rctx = brine_core::render::RenderContext {
        opts: &ctx.opts,
        grains: ctx.grains(),
        pillar: &pillar,
        saltenv: &saltenv,
        sls: "",
        functions: ctx,
        file_client: &*client,
        extra: Map::default(),
    };
    brine_core::render::render_sls(&text, &name, &default_renderer, &rctx).map_err(|e| e.message)
}
