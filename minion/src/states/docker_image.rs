//! `docker_image` states (salt/states/docker_image.py) through the docker
//! CLI: `present` (with `load:` a tarball from `salt://` or a path, or a
//! plain `docker pull`), `absent`, and `mod_watch` (a forced `present`).
//!
//! Beyond Salt: when Brine loaded an image from a tarball, it records the
//! tarball's SHA-256 under `<cachedir>/docker_image/`; a later `present`
//! whose tarball differs loads it again instead of reporting "already
//! present". Without such a record Salt's behaviour is kept. `build:` and
//! `sls:` are not supported (a failed state says so).

use super::{Ret, StateCall, StateFunction};
use crate::modules::docker;
use brine_core::output::pyrepr::str_of;
use brine_core::value::{Map, Value};

pub const FUNCTIONS: &[StateFunction] = &[
    StateFunction {
        name: "present",
        fun: present,
        required: &["name"],
        params: None,
    },
    StateFunction {
        name: "absent",
        fun: absent,
        required: &[],
        params: Some(&["name", "images", "force"]),
    },
    StateFunction {
        name: "mod_watch",
        fun: mod_watch,
        required: &["name"],
        params: None,
    },
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the hash of the tarball last loaded as `image` is kept.
fn record_path(call: &StateCall, image: &str) -> std::path::PathBuf {
    let cachedir = call
        .ctx
        .opts
        .get("cachedir")
        .and_then(Value::as_str)
        .unwrap_or("/var/cache/salt/minion");
    let key = hex(&brine_core::jinja::hashes::sha256(image.as_bytes()));
    std::path::Path::new(cachedir)
        .join("docker_image")
        .join(key)
}

fn tarball_hash(call: &StateCall, path: &str) -> Option<String> {
    let local = docker::cache_file(call.files, path, call.saltenv).ok()?;
    let data = std::fs::read(local).ok()?;
    Some(hex(&brine_core::jinja::hashes::sha256(&data)))
}

fn present(call: &StateCall) -> Result<Ret, String> {
    present_impl(call, false)
}

fn mod_watch(call: &StateCall) -> Result<Ret, String> {
    match call.opt_str("sfun")?.as_deref() {
        Some("present") => present_impl(call, true),
        other => {
            let name = call.name();
            Ok(Ret::new(name.as_str()).with(
                Some(false),
                format!(
                    "watch requisite is not implemented for {}",
                    other.unwrap_or("None")
                ),
            ))
        }
    }
}

fn present_impl(call: &StateCall, forced: bool) -> Result<Ret, String> {
    let mut name = call.name();
    let mut ret = Ret::new(name.as_str()).with(Some(false), "");
    let tag = call.opt_str("tag")?;
    let build = call.opt_str("build")?;
    let load = call.opt_str("load")?;
    let sls = call.get("sls").cloned();
    let force = forced || call.bool_or("force", false)?;
    let given = [build.is_some(), load.is_some(), sls.is_some()];
    let full_image = match given.iter().filter(|g| **g).count() {
        n if n > 1 => {
            ret.comment = Value::from("Only one of 'build', 'load', or 'sls' is permitted.");
            return Ok(ret);
        }
        1 => {
            let Some(t) = tag.as_ref().filter(|t| !t.is_empty()) else {
                ret.comment = Value::from(
                    "The 'tag' argument is required if any one of 'build', 'load', or 'sls' is used.",
                );
                return Ok(ret);
            };
            format!("{name}:{t}")
        }
        _ => {
            if let Some(t) = tag.as_ref().filter(|t| !t.is_empty()) {
                name = format!("{name}:{t}");
            }
            name.clone()
        }
    };
    if build.is_some() || sls.is_some() {
        ret.comment =
            Value::from("docker_image.present: 'build' and 'sls' are not supported by Brine");
        return Ok(ret);
    }
    let image_info = match docker::inspect_image(call.ctx, &full_image) {
        Ok(i) => Some(i),
        Err(e) if e.contains("404") => None,
        Err(e) => {
            ret.comment = Value::Str(e);
            return Ok(ret);
        }
    };
    let record = record_path(call, &full_image);
    let new_hash = load.as_deref().and_then(|l| tarball_hash(call, l));
    let tar_changed = image_info.is_some()
        && new_hash.is_some()
        && std::fs::read_to_string(&record)
            .ok()
            .is_some_and(|old| Some(old.trim()) != new_hash.as_deref());
    if image_info.is_some() && !force && !tar_changed {
        ret.result = Some(true);
        ret.comment = Value::Str(format!("Image {full_image} already present"));
        return Ok(ret);
    }
    let action = if load.is_some() { "loaded" } else { "pulled" };
    if call.test {
        ret.result = None;
        ret.comment = Value::Str(format!("Image {full_image} will be {action}"));
        return Ok(ret);
    }
    if let Some(path) = &load {
        let update = match docker::load(
            call.ctx,
            call.files,
            call.saltenv,
            path,
            Some(&name),
            tag.as_deref(),
        ) {
            Ok(u) => u,
            Err(e) => {
                let e = crate::modules::classify(&e);
                let msg = match e {
                    crate::modules::ErrorKind::Execution(m)
                    | crate::modules::ErrorKind::Args(m)
                    | crate::modules::ErrorKind::Invocation(m) => m,
                };
                ret.comment = Value::Str(format!(
                    "Encountered error loading {path} as {full_image}: {msg}"
                ));
                return Ok(ret);
            }
        };
        let layers = update
            .get(&Value::from("Layers"))
            .is_some_and(Value::truthy);
        if image_info.is_none() || layers {
            ret.changes = update;
        }
        if let Some(h) = &new_hash {
            if let Some(dir) = record.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = brine_core::fsutil::write_atomic(&record, h.as_bytes(), None);
        }
    } else {
        let pre_id = image_info
            .as_ref()
            .and_then(|i| i.get(&Value::from("Id")))
            .map(str_of);
        let exe = crate::modules::user::which("docker")?;
        let argv = vec![exe, "pull".into(), name.clone()];
        let out = crate::modules::user::run_argv(call.ctx, &argv, false, true)?;
        if out.retcode != 0 {
            ret.comment = Value::Str(format!(
                "Encountered error pulling {full_image}: {}",
                out.stderr
            ));
            return Ok(ret);
        }
        let post_id = docker::inspect_image(call.ctx, &full_image)
            .ok()
            .and_then(|i| i.get(&Value::from("Id")).map(str_of));
        if pre_id != post_id {
            let mut m = Map::default();
            m.insert(
                Value::from("Status"),
                Value::Str(out.stdout.lines().last().unwrap_or("").to_string()),
            );
            m.insert(
                Value::from("Id"),
                post_id.map(Value::Str).unwrap_or(Value::Null),
            );
            ret.changes = m;
        }
    }
    if let Err(e) = docker::inspect_image(call.ctx, &full_image) {
        if !e.contains("404") {
            ret.comment = Value::Str(format!(
                "Failed to inspect image '{full_image}' after it was {action}: {e}"
            ));
            return Ok(ret);
        }
    }
    ret.result = Some(true);
    ret.comment = Value::Str(if ret.changes.is_empty() {
        format!("Image '{name}' was {action}, but there were no changes")
    } else {
        format!("Image '{full_image}' was {action}")
    });
    Ok(ret)
}

fn absent(call: &StateCall) -> Result<Ret, String> {
    let name = call.opt_str("name")?;
    let images = call.opt_list("images")?;
    let force = call.bool_or("force", false)?;
    let mut ret =
        Ret::new(name.clone().map(Value::Str).unwrap_or(Value::Null)).with(Some(false), "");
    let targets: Vec<String> = match (&images, &name) {
        (None, None) => {
            ret.comment = Value::from("One of 'name' and 'images' must be provided");
            return Ok(ret);
        }
        (Some(l), _) => l.iter().map(str_of).collect(),
        (None, Some(n)) if n.is_empty() => {
            ret.comment = Value::from("One of 'name' and 'images' must be provided");
            return Ok(ret);
        }
        (None, Some(n)) => vec![n.clone()],
    };
    let to_delete: Vec<String> = targets
        .iter()
        .map(|t| docker::resolve_tag(call.ctx, t))
        .filter(|r| *r != Value::Bool(false))
        .map(|r| str_of(&r))
        .collect();
    let shown_name = name.clone().unwrap_or_else(|| "None".into());
    if to_delete.is_empty() {
        ret.result = Some(true);
        ret.comment = Value::Str(if targets.len() == 1 {
            format!("Image {shown_name} is not present")
        } else {
            "All specified images are not present".into()
        });
        return Ok(ret);
    }
    if call.test {
        ret.result = None;
        ret.comment = Value::Str(if to_delete.len() == 1 {
            format!("Image {} will be removed", to_delete[0])
        } else {
            format!(
                "The following images will be removed: {}",
                to_delete.join(", ")
            )
        });
        return Ok(ret);
    }
    let result = docker::rmi(call.ctx, &to_delete, force)?;
    let post = docker::list_tags(call.ctx)?;
    let failed: Vec<&String> = to_delete.iter().filter(|x| post.contains(x)).collect();
    if !failed.is_empty() {
        let names: Vec<&str> = failed.iter().map(|s| s.as_str()).collect();
        if to_delete.iter().any(|x| !post.contains(x)) {
            ret.changes = result;
            ret.comment = Value::Str(format!(
                "The following image(s) failed to be removed: {}",
                names.join(", ")
            ));
        } else {
            let mut c = String::from("None of the specified images were removed");
            if let Some(errs) = result.get(&Value::from("Errors")).and_then(Value::as_list) {
                let errs: Vec<String> = errs.iter().map(str_of).collect();
                c.push_str(&format!(
                    ". The following errors were encountered: {}",
                    errs.join("; ")
                ));
            }
            ret.comment = Value::Str(c);
        }
    } else {
        ret.changes = result;
        ret.result = Some(true);
        ret.comment = Value::Str(if to_delete.len() == 1 {
            format!("Image {} was removed", to_delete[0])
        } else {
            format!(
                "The following images were removed: {}",
                to_delete.join(", ")
            )
        });
    }
    Ok(ret)
}
