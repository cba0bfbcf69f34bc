//! Renderer pipelines: a `#!` shebang (or the configured default
//! `jinja|yaml`) turns SLS text into a [`Value`].
//!
//! Mirrors `salt/template.py` (`compile_template`, `template_shebang`,
//! `check_render_pipe_str`) and the `jinja`, `yaml` and `json` renderers.
//! Only those three renderers exist in Brine; any other name in a pipe is a
//! clear error rather than Salt's silent empty result.

use crate::fileclient::FileClient;
use crate::functions::Functions;
use crate::value::{Map, Value};

/// What a template sees besides its text.
pub struct RenderContext<'a> {
    /// The config dict (`opts`).
    pub opts: &'a Value,
    pub grains: &'a Value,
    pub pillar: &'a Value,
    pub saltenv: &'a str,
    /// Dotted SLS name (`a.b`); empty for non-SLS templates.
    pub sls: &'a str,
    pub functions: &'a dyn Functions,
    pub file_client: &'a dyn FileClient,
    /// Extra template variables (file.managed `context`/`defaults`).
    pub extra: Map,
}

/// A render failure, with the text Salt would show (file, line, cause).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RenderError {
    pub message: String,
}

impl RenderError {
    fn new(message: impl Into<String>) -> RenderError {
        RenderError {
            message: message.into(),
        }
    }
}

/// One step of a render pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renderer {
    Jinja,
    Yaml,
    Json,
    /// Salt's `gpg` renderer: values without a `-----BEGIN PGP MESSAGE-----`
    /// block pass through unchanged; Brine cannot decrypt the others.
    Gpg,
}

/// Salt's old combined renderer names (`yaml_jinja` = `jinja|yaml`).
fn old_style(name: &str) -> Option<&'static str> {
    Some(match name {
        "yaml_jinja" => "jinja|yaml",
        "yaml_mako" => "mako|yaml",
        "yaml_wempy" => "wempy|yaml",
        "json_jinja" => "jinja|json",
        "json_mako" => "mako|json",
        "json_wempy" => "wempy|json",
        "yamlex_jinja" => "jinja|yamlex",
        _ => return None,
    })
}

/// Parse a pipe string (`jinja|yaml`) as `check_render_pipe_str` does.
pub fn parse_pipe(pipestr: &str) -> Result<Vec<Renderer>, RenderError> {
    let mut pipestr = pipestr.trim();
    if let Some(expanded) = old_style(pipestr) {
        pipestr = expanded;
    }
    let mut out = Vec::new();
    for part in pipestr.split('|') {
        let part = part.trim();
        let (name, argline) = part.split_once(' ').unwrap_or((part, ""));
        let argline = argline.trim();
        match name {
            "jinja" => {
                if !argline.is_empty() && argline != "-s" {
                    return Err(RenderError::new(format!(
                        "Unknown renderer option: {argline}"
                    )));
                }
                out.push(Renderer::Jinja)
            }
            "yaml" => out.push(Renderer::Yaml),
            "json" => out.push(Renderer::Json),
            "gpg" => out.push(Renderer::Gpg),
            "" => {
                return Err(RenderError::new(format!(
                    "The renderer \"{pipestr}\" is not available"
                )))
            }
            other => {
                return Err(RenderError::new(format!(
                    "renderer '{other}' is not supported by Brine"
                )))
            }
        }
    }
    Ok(out)
}

/// The pipe for a template: its `#!` first line, else `default_renderer`.
pub fn template_shebang(text: &str, default_renderer: &str) -> Result<Vec<Renderer>, RenderError> {
    let first = text.split_inclusive('\n').next().unwrap_or("");
    if first.starts_with("#!") && !first.starts_with("#!/") {
        parse_pipe(&first.trim()[2..])
    } else {
        parse_pipe(default_renderer)
    }
}

/// Text or data flowing through the pipe.
enum Data {
    Text(String),
    Value(Value),
}

/// Load YAML as Salt's yaml renderer does (empty -> `{}`, error texts).
pub fn render_yaml(text: &str) -> Result<Value, RenderError> {
    let v = crate::yaml::load(text).map_err(|e| {
        // Salt's yaml renderer shows only the problem for scanner errors.
        if e.kind == crate::yaml::YamlErrorKind::Scanner {
            RenderError::new(e.problem)
        } else {
            RenderError::new(e.message)
        }
    })?;
    let v = if v.truthy() { v } else { Value::map() };
    check_no_dict_keys(&v)?;
    Ok(v)
}

fn check_no_dict_keys(v: &Value) -> Result<(), RenderError> {
    match v {
        Value::Map(m) => {
            for (k, val) in m {
                if matches!(k, Value::Map(_)) {
                    return Err(RenderError::new(
                        "Invalid YAML, possible double curly-brace",
                    ));
                }
                check_no_dict_keys(val)?;
            }
        }
        Value::List(l) => {
            for item in l {
                check_no_dict_keys(item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Load JSON as Salt's json renderer does (a `#!` first line is dropped,
/// empty -> `{}`, key order kept).
pub fn render_json(text: &str) -> Result<Value, RenderError> {
    let text = if text.starts_with("#!") {
        match text.find('\n') {
            Some(i) => &text[i + 1..],
            None => "",
        }
    } else {
        text
    };
    if text.trim().is_empty() {
        return Ok(Value::map());
    }
    let j: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        RenderError::new(format!(
            "{}: line {} column {} (char {})",
            json_error_text(&e),
            e.line(),
            e.column(),
            0
        ))
    })?;
    Ok(Value::from_json(&j))
}

fn json_error_text(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Salt's `gpg` renderer over rendered data: it needs a `gpg` executable,
/// then decrypts every `-----BEGIN PGP MESSAGE-----` block found in string
/// values (keys are left alone). Data without such blocks passes through
/// unchanged. Brine does not decrypt: a PGP block is a clear render error
/// (Salt fails too when it cannot decrypt, as `gpg_decrypt_must_succeed` is
/// on by default).
pub fn render_gpg(data: Value) -> Result<Value, RenderError> {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("gpg").is_file()));
    if !on_path {
        return Err(RenderError::new("GPG unavailable"));
    }
    fn find(v: &Value) -> bool {
        match v {
            Value::Str(s) => s
                .find("-----BEGIN PGP MESSAGE-----")
                .is_some_and(|i| s[i..].contains("-----END PGP MESSAGE-----")),
            Value::List(items) => items.iter().any(find),
            Value::Map(m) => m.values().any(find),
            _ => false,
        }
    }
    if find(&data) {
        return Err(RenderError::new(
            "gpg renderer: cannot decrypt a '-----BEGIN PGP MESSAGE-----' value: \
             Brine does not support GPG-encrypted pillar/SLS data",
        ));
    }
    Ok(data)
}

/// How many SLS renders may nest (a template calling `state.show_sls`,
/// `state.sls_exists`, ... which renders SLS files again). Salt has no such
/// limit of its own: a self-referencing SLS recurses until Python's
/// `RecursionError` surfaces as a render error in the innermost render. Brine
/// stops at this depth with the same kind of error instead of overflowing the
/// native stack.
pub const MAX_RENDER_DEPTH: usize = 32;

thread_local! {
    static RENDER_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts one nested SLS render for as long as it lives.
struct RenderDepth;

impl RenderDepth {
    fn enter(path: &str) -> Result<RenderDepth, RenderError> {
        let depth = RENDER_DEPTH.with(|d| d.get());
        if depth >= MAX_RENDER_DEPTH {
            return Err(RenderError::new(format!(
                "maximum recursion depth exceeded: {path} is rendered from within {MAX_RENDER_DEPTH} nested renders"
            )));
        }
        RENDER_DEPTH.with(|d| d.set(depth + 1));
        Ok(RenderDepth)
    }
}

impl Drop for RenderDepth {
    fn drop(&mut self) {
        RENDER_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Render an SLS file found at `path` (relative to its root, e.g.
/// `a/init.sls`) through its shebang pipeline or `default_renderer`.
pub fn render_sls(
    text: &str,
    path: &str,
    default_renderer: &str,
    ctx: &RenderContext,
) -> Result<Value, RenderError> {
    // compile_template: empty or whitespace-only files render to {}.
    if text.trim().is_empty() {
        return Ok(Value::map());
    }
    let _depth = RenderDepth::enter(path)?;
    let pipe = template_shebang(text, default_renderer)?;
    let mut data = Data::Text(text.to_string());
    for step in pipe {
        data = match (step, data) {
            (Renderer::Jinja, Data::Text(t)) => {
                let out = crate::jinja::render_sls_template(&t, path, ctx)
                    .map_err(|e| RenderError::new(e.message))?;
                Data::Text(out)
            }
            (Renderer::Yaml, Data::Text(t)) => Data::Value(render_yaml(&t)?),
            (Renderer::Json, Data::Text(t)) => Data::Value(render_json(&t)?),
            (Renderer::Gpg, Data::Value(v)) => Data::Value(render_gpg(v)?),
            (Renderer::Gpg, Data::Text(t)) => match render_gpg(Value::Str(t))? {
                Value::Str(t) => Data::Text(t),
                v => Data::Value(v),
            },
            (step, Data::Value(_)) => {
                return Err(RenderError::new(format!(
                    "renderer '{}' needs text but the previous renderer produced data",
                    match step {
                        Renderer::Jinja => "jinja",
                        Renderer::Yaml => "yaml",
                        Renderer::Json => "json",
                        Renderer::Gpg => "gpg",
                    }
                )))
            }
        };
    }
    Ok(match data {
        Data::Value(v) => v,
        // A pipe ending in a text renderer (`#!jinja`) gives the text.
        Data::Text(t) => Value::Str(t),
    })
}

/// Render a plain Jinja template (file.managed `template: jinja`, `cmd.script`
/// ...). `tmplpath` names the template in error messages. As in Salt's file
/// templates, `sls`/`tpldir`/`tplfile` & co. are only defined when
/// `ctx.sls` is non-empty; `ctx.extra` carries `context`/`defaults` and the
/// state's own arguments (`name`, `source`, `user`, ...).
pub fn render_template(
    text: &str,
    tmplpath: &str,
    ctx: &RenderContext,
) -> Result<String, RenderError> {
    let _depth = RenderDepth::enter(tmplpath)?;
    crate::jinja::render(text, tmplpath, ctx).map_err(|e| RenderError::new(e.message))
}

#[cfg(test)]
mod tests;
