//! Renderer pipelines: a `#!` shebang (or the configured default
//! `jinja|yaml`) turns SLS text into a [`Value`].

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

/// Render an SLS file found at `path` (relative to its root, e.g.
/// `a/init.sls`) through its shebang pipeline or `default_renderer`.
pub fn render_sls(
    text: &str,
    path: &str,
    default_renderer: &str,
    ctx: &RenderContext,
) -> Result<Value, RenderError> {
    let _ = (text, path, default_renderer, ctx);
    Err(RenderError { message: "renderer not implemented".into() })
}
