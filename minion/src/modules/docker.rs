//! `docker` execution functions (salt/modules/dockermod.py), the subset
//! the `docker_image` state needs, through the `docker` CLI instead of
//! Salt's docker-py API client: `inspect_image` (`docker image inspect`),
//! `images`, `list_tags`, `resolve_tag`, `load` (`docker load -i`), `tag`
//! and `rmi`. A missing image is Salt's "Error 404: No such image: X".

use super::user::{run_argv, CmdOut};
use super::{bind, invocation_error, Context, ModFn};
use brine_core::fileclient::FileClient;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[(&str, ModFn)] = &[
    ("inspect_image", inspect_image_fn),
    ("images", images_fn),
    ("list_tags", list_tags_fn),
    ("resolve_tag", resolve_tag_fn),
    ("load", load_fn),
    ("tag", tag_fn),
    ("rmi", rmi_fn),
];

fn v(s: &str) -> Value {
    Value::from(s)
}

fn docker(ctx: &Context, args: &[&str]) -> Result<CmdOut, String> {
    let exe = super::user::which("docker")?;
    let mut argv = vec![exe];
    argv.extend(args.iter().map(|s| s.to_string()));
    run_argv(ctx, &argv, false, true)
}

/// The error for a failed docker call: Salt's "Error 404: ..." for a
/// missing image, else the CLI's message.
fn api_error(stderr: &str) -> String {
    let msg = stderr
        .trim()
        .trim_start_matches("Error response from daemon: ")
        .trim_start_matches("Error: ");
    if msg.to_lowercase().contains("no such image") {
        format!("Error 404: {msg}")
    } else {
        msg.to_string()
    }
}

/// Salt's `_size_fmt`.
fn size_fmt(n: i128) -> String {
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut num = n as f64 / 1024.0;
    for unit in ["KiB", "MiB", "GiB", "TiB", "PiB"] {
        if num < 1024.0 {
            return format!("{num:3.1} {unit}");
        }
        num /= 1024.0;
    }
    format!("{num:3.1} PiB")
}

/// `docker.inspect_image`.
pub fn inspect_image(ctx: &Context, name: &str) -> Result<Map, String> {
    let out = docker(ctx, &["image", "inspect", name])?;
    if out.retcode != 0 {
        return Err(api_error(&out.stderr));
    }
    let json: serde_json::Value =
        serde_json::from_str(&out.stdout).map_err(|e| format!("Bad docker output: {e}"))?;
    let first = json
        .as_array()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_default();
    let Value::Map(mut m) = Value::from_json(&first) else {
        return Err(format!("Error 404: No such image: {name}"));
    };
    for p in ["Size", "VirtualSize"] {
        if let Some(n) = m.get(&v(p)).and_then(Value::as_int) {
            m.insert(Value::Str(format!("{p}_Human")), Value::Str(size_fmt(n)));
        }
    }
    Ok(m)
}

/// `docker.images(all=True)`: image id to `{RepoTags}`.
pub fn images(ctx: &Context) -> Result<Map, String> {
    let out = docker(
        ctx,
        &["image", "ls", "-a", "--no-trunc", "--format", "{{json .}}"],
    )?;
    if out.retcode != 0 {
        return Err(api_error(&out.stderr));
    }
    let mut ret = Map::default();
    for line in out.stdout.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(j) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let id = j["ID"].as_str().unwrap_or_default().to_string();
        let repo = j["Repository"].as_str().unwrap_or("<none>");
        let tag = j["Tag"].as_str().unwrap_or("<none>");
        let entry = ret.entry(Value::Str(id)).or_insert_with(|| {
            let mut m = Map::default();
            m.insert(v("RepoTags"), Value::List(Vec::new()));
            Value::Map(m)
        });
        if repo != "<none>" && tag != "<none>" {
            if let Some(Value::List(tags)) =
                entry.as_map_mut().and_then(|m| m.get_mut(&v("RepoTags")))
            {
                tags.push(Value::Str(format!("{repo}:{tag}")));
            }
        }
    }
    Ok(ret)
}

/// `docker.list_tags`: every `repo:tag`, sorted.
pub fn list_tags(ctx: &Context) -> Result<Vec<String>, String> {
    let mut set = std::collections::BTreeSet::new();
    for (_, img) in images(ctx)? {
        if let Some(tags) = img.get("RepoTags").and_then(Value::as_list) {
            set.extend(tags.iter().map(str_of));
        }
    }
    Ok(set.into_iter().collect())
}

/// `docker.resolve_tag`: the image's first tag (or its id), false when
/// it cannot be inspected.
pub fn resolve_tag(ctx: &Context, name: &str) -> Value {
    match inspect_image(ctx, name) {
        Err(_) => Value::Bool(false),
        Ok(info) => match info.get(&v("RepoTags")).and_then(Value::as_list) {
            Some(tags) if !tags.is_empty() => tags[0].clone(),
            _ => info.get(&v("Id")).cloned().unwrap_or(Value::Bool(false)),
        },
    }
}

/// `docker.tag`.
pub fn tag(ctx: &Context, image: &str, repository: &str, tag: &str) -> Result<bool, String> {
    let target = format!("{repository}:{tag}");
    let out = docker(ctx, &["tag", image, &target])?;
    if out.retcode != 0 {
        return Err(api_error(&out.stderr));
    }
    Ok(true)
}

/// The local file behind `path` (`salt://` resolved in `saltenv`).
pub fn cache_file(files: &dyn FileClient, path: &str, saltenv: &str) -> Result<String, String> {
    if let Some(rel) = path.strip_prefix("salt://") {
        let (rel, env) = match rel.split_once("?saltenv=") {
            Some((r, e)) => (r, e),
            None => (rel, saltenv),
        };
        return match files.get(rel, env) {
            Ok(Some(f)) => Ok(f.local_path.to_string_lossy().into_owned()),
            _ => Err(format!("Source file {path} does not exist")),
        };
    }
    Ok(path.strip_prefix("file://").unwrap_or(path).to_string())
}

/// `docker.load`: `docker load -i` the tarball, then tag the one new
/// image as `repository:tag`.
pub fn load(
    ctx: &Context,
    files: &dyn FileClient,
    saltenv: &str,
    path: &str,
    repository: Option<&str>,
    tag_: Option<&str>,
) -> Result<Map, String> {
    if repository.is_some() != tag_.is_some() {
        return Err(invocation_error(
            "If tagging, both a repository and tag are required",
        ));
    }
    let local = cache_file(files, path, saltenv)?;
    if !std::path::Path::new(&local).is_file() {
        return Err(format!("Source file {path} does not exist"));
    }
    let pre = images(ctx)?;
    let started = std::time::Instant::now();
    let result = docker(ctx, &["load", "-i", &local])?;
    let mut ret = Map::default();
    ret.insert(
        v("Time_Elapsed"),
        Value::Float(started.elapsed().as_secs_f64()),
    );
    let post = images(ctx)?;
    if result.retcode != 0 {
        let mut msg = format!("Failed to load image(s) from {path}");
        if !result.stderr.is_empty() {
            msg.push_str(&format!(": {}", result.stderr));
        }
        return Err(msg);
    }
    ret.insert(v("Path"), v(path));
    let new: Vec<String> = post
        .keys()
        .filter(|k| !pre.contains_key(*k))
        .map(str_of)
        .collect();
    ret.insert(
        v("Layers"),
        Value::List(
            new.iter()
                .map(|x| Value::Str(x.chars().take(12).collect()))
                .collect(),
        ),
    );
    if let (Some(repo), Some(t)) = (repository, tag_) {
        let tagged = format!("{repo}:{t}");
        match new.as_slice() {
            [] => {
                ret.insert(
                    v("Warning"),
                    v("No top-level image layers were loaded, no image was tagged"),
                );
            }
            [one] => match tag(ctx, one, repo, t) {
                Ok(_) => {
                    ret.insert(v("Image"), Value::Str(tagged));
                }
                Err(e) => {
                    ret.insert(
                        v("Warning"),
                        Value::Str(format!("Failed to tag {one} as {tagged}: {e}")),
                    );
                }
            },
            many => {
                ret.insert(
                    v("Warning"),
                    Value::Str(format!(
                        "More than one top-level image layer was loaded ({}), no image was tagged",
                        many.join(", ")
                    )),
                );
            }
        }
    }
    Ok(ret)
}

/// `docker.rmi`: remove images; `{Layers, Tags, retcode[, Errors]}`.
pub fn rmi(ctx: &Context, names: &[String], force: bool) -> Result<Map, String> {
    let pre_images = images(ctx)?;
    let pre_tags = list_tags(ctx)?;
    let mut errors = Vec::new();
    for name in names {
        let info = inspect_image(ctx, name)?;
        let id = info.get(&v("Id")).map(str_of).unwrap_or_default();
        let mut args = vec!["rmi"];
        if force {
            args.push("-f");
        }
        args.push(&id);
        let out = docker(ctx, &args)?;
        if out.retcode != 0 {
            errors.push(Value::Str(api_error(&out.stderr)));
        }
    }
    let post_images = images(ctx)?;
    let post_tags = list_tags(ctx)?;
    let mut ret = Map::default();
    ret.insert(
        v("Layers"),
        Value::List(
            pre_images
                .keys()
                .filter(|k| !post_images.contains_key(*k))
                .cloned()
                .collect(),
        ),
    );
    ret.insert(
        v("Tags"),
        Value::List(
            pre_tags
                .iter()
                .filter(|t| !post_tags.contains(t))
                .map(|t| v(t))
                .collect(),
        ),
    );
    ret.insert(
        v("retcode"),
        Value::Int(if errors.is_empty() { 0 } else { 1 }),
    );
    if !errors.is_empty() {
        ret.insert(v("Errors"), Value::List(errors));
    }
    Ok(ret)
}

fn inspect_image_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "docker.inspect_image",
        &["name"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    inspect_image(ctx, &str_of(&b.get(0, Value::Null))).map(Value::Map)
}

fn images_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("docker.images", &["verbose"], 0, false, true, args, kwargs)?;
    images(ctx).map(Value::Map)
}

fn list_tags_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    bind("docker.list_tags", &[], 0, false, false, args, kwargs)?;
    Ok(Value::List(
        list_tags(ctx)?.into_iter().map(Value::Str).collect(),
    ))
}

fn resolve_tag_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "docker.resolve_tag",
        &["name"],
        1,
        false,
        true,
        args,
        kwargs,
    )?;
    Ok(resolve_tag(ctx, &str_of(&b.get(0, Value::Null))))
}

fn load_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "docker.load",
        &["path", "repository", "tag"],
        1,
        false,
        false,
        args,
        kwargs,
    )?;
    let files = ctx.file_client(&ctx.opts);
    let saltenv = ctx
        .opts
        .get("saltenv")
        .and_then(Value::as_str)
        .unwrap_or("base")
        .to_string();
    let (repo, t) = (b.str(1), b.str(2));
    load(
        ctx,
        &*files,
        &saltenv,
        &str_of(&b.get(0, Value::Null)),
        repo.as_deref(),
        t.as_deref(),
    )
    .map(Value::Map)
}

fn tag_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind(
        "docker.tag",
        &["source", "repository", "tag", "force"],
        2,
        false,
        false,
        args,
        kwargs,
    )?;
    let t = b.str(2).unwrap_or_else(|| "latest".into());
    tag(
        ctx,
        &str_of(&b.get(0, Value::Null)),
        &str_of(&b.get(1, Value::Null)),
        &t,
    )
    .map(Value::Bool)
}

fn rmi_fn(ctx: &Context, args: Vec<Value>, kwargs: Map) -> Result<Value, String> {
    let b = bind("docker.rmi", &[], 0, true, true, args, kwargs)?;
    let force = b.kwargs.get(&v("force")).is_some_and(Value::truthy);
    let names: Vec<String> = b.rest.iter().map(str_of).collect();
    rmi(ctx, &names, force).map(Value::Map)
}
