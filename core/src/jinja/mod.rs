//! The Jinja environment, configured like Salt's SLS environment
//! (`salt/utils/templates.py` `render_jinja_tmpl`, `salt/utils/jinja.py`).
//!
//! Built on a vendored minijinja (`vendor/minijinja`, see its
//! `BRINE-PATCHES.md`) whose lists and dicts are shared mutable objects and
//! whose `%` operator formats strings, as Python's do.
//!
//! - [`convert`]: Brine [`Value`] <-> template values.
//! - [`methods`]: Python methods on str/list/dict (`.append`, `.update`, ...).
//! - [`filters`]: Salt's filters and tests.
//! - [`globals`]: the `salt` function mapping and Salt's template globals.
//! - [`tags`]: Salt's extension tags (`import_yaml`, `load_json`, ...),
//!   rewritten to plain Jinja before parsing.
//! - [`hashes`]: digests for the `md5`/`sha*`/`hmac`/`uuid` filters.
//!
//! Templates loaded by name (`import`, `from`, `include`, `import_yaml`)
//! come from `ctx.file_client` in the render's saltenv; `./x` and `../x`
//! resolve against Salt's global `tpldir`, which, as in Salt's
//! `SaltCacheLoader`, follows the last template loaded by absolute name. A
//! template imported without context sees its own `tpldir`/`tplfile`/
//! `tpldot` (a first-line prelude sets them unless the importing tag was
//! `with context` or an `include`).

mod cache;
pub mod convert;
pub mod filters;
pub mod globals;
pub mod hashes;
pub mod methods;
pub mod tags;

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use minijinja::value::Value as MjValue;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};

use crate::fileclient::FileClient;
use crate::functions::Functions;
use crate::render::RenderContext;
use crate::value::{Map, Value};

pub use convert::{from_jinja, to_jinja};

/// A template failure, worded as Salt's `SaltRenderError` text
/// (`Jinja variable 'x' is undefined; line 3\n\n---\n...\n---`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct JinjaError {
    pub message: String,
    /// 1-based line in the top-level template, when known.
    pub line: Option<usize>,
}

/// Marker prefix for errors raised by `salt[...]` calls, so the error text
/// can say "Problem running salt function in Jinja template".
pub(crate) const SALT_FN_ERROR: &str = "\u{1}salt-fn\u{1}";
/// Marker prefix for Jinja2 `TemplateRuntimeError`s (Salt reports them as
/// syntax errors).
pub(crate) const RUNTIME_ERROR: &str = "\u{1}runtime\u{1}";
/// Marker prefix for errors raised by the `raise()` global.
pub(crate) const RAISE_ERROR: &str = "\u{1}raise\u{1}";

/// Variables Salt computes from the template path and SLS name
/// (`salt.utils.templates.generate_sls_context`).
pub fn generate_sls_context(tmplpath: &str, sls: &str) -> Map {
    let mut out = Map::default();
    let mut slspath = sls.replace('.', "/");
    if !tmplpath.is_empty() {
        let mut template = tmplpath.replace('\\', "/");
        if sls.is_empty() {
            template = template.rsplit('/').next().unwrap_or_default().to_string();
        } else if template.ends_with(&format!("{slspath}.sls")) {
            template = template[template.len() - (4 + slspath.len())..].to_string();
        } else if template.ends_with(&format!("{slspath}/init.sls")) {
            template = template[template.len() - (9 + slspath.len())..].to_string();
        }
        slspath = match template.rsplit_once('/') {
            Some((dir, _)) => dir.to_string(),
            None => String::new(),
        };
        out.insert("tplpath".into(), tmplpath.into());
        out.insert("tplfile".into(), template.into());
        out.insert(
            "tpldir".into(),
            if slspath.is_empty() {
                ".".into()
            } else {
                slspath.clone().into()
            },
        );
        out.insert("tpldot".into(), slspath.replace('/', ".").into());
    }
    out.insert("slspath".into(), slspath.clone().into());
    out.insert("slsdotpath".into(), slspath.replace('/', ".").into());
    out.insert("slscolonpath".into(), slspath.replace('/', ":").into());
    out.insert("sls_path".into(), slspath.replace('/', "_").into());
    out
}

/// Python's `str.splitlines()` on the separators templates use.
fn split_lines(s: &str) -> Vec<&str> {
    let mut out: Vec<&str> = s
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if s.ends_with('\n') {
        out.pop();
    }
    out
}

/// `salt.utils.stringutils.get_context`: five lines either side of `line`,
/// the failing one marked.
pub fn get_context(template: &str, line: usize) -> String {
    let lines = split_lines(template);
    let n = lines.len();
    if line > n {
        return template.to_string();
    }
    let start = line.saturating_sub(6);
    let end = n.min(line + 5);
    let mut err_idx = line as isize - start as isize - 1;
    let mut buf: Vec<String> = Vec::new();
    if start > 0 {
        buf.push("[...]".into());
        err_idx += 1;
    }
    buf.extend(lines[start..end].iter().map(|s| s.to_string()));
    if end < n {
        buf.push("[...]".into());
    }
    if let Some(l) = usize::try_from(err_idx).ok().and_then(|i| buf.get_mut(i)) {
        l.push_str("    <======================");
    }
    format!("---\n{}\n---", buf.join("\n"))
}

/// What the environment shares with its loader, globals and filters.
pub(crate) struct Shared {
    /// The render's function and file seams, `None` once the render has
    /// ended (a template may keep the `salt` object in a dict that outlives
    /// its render, see [`cache`]).
    seams: Mutex<Option<Seams>>,
    pub saltenv: String,
    /// Salt's `environment.globals["tpldir"]`, which relative (`./x`)
    /// template names resolve against.
    pub tpldir: Mutex<String>,
    /// Salt's extension tags and the loader prelude are written with the
    /// default `{% %}` delimiters; with custom ones they are off.
    pub salt_tags: bool,
}

#[derive(Clone, Copy)]
struct Seams {
    functions: &'static dyn Functions,
    file_client: &'static dyn FileClient,
}

impl Shared {
    /// The execution functions; none once the render has ended.
    pub fn functions(&self) -> &dyn Functions {
        match *self.seams.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(s) => s.functions,
            None => &crate::functions::NoFunctions,
        }
    }

    /// The file client, while the render lasts.
    fn file_client(&self) -> Option<&dyn FileClient> {
        self.seams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|s| s.file_client)
    }
}

/// Cuts a [`Shared`] off its render's seams when the render ends.
struct EndRender(Arc<Shared>);

impl Drop for EndRender {
    fn drop(&mut self) {
        *self.0.seams.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Resolve a template name as `SaltCacheLoader.get_source` does.
fn resolve_template_name(shared: &Shared, name: &str) -> Option<(String, bool)> {
    let name = name.strip_prefix("salt://").unwrap_or(name);
    let first = name.split('/').next().unwrap_or_default();
    if first == "." || first == ".." {
        let base = shared.tpldir.lock().map(|t| t.clone()).unwrap_or_default();
        let mut parts: Vec<&str> = Vec::new();
        for p in base.split('/').chain(name.split('/')) {
            match p {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                p => parts.push(p),
            }
        }
        Some((parts.join("/"), true))
    } else {
        Some((name.to_string(), false))
    }
}

fn load_template(shared: &Shared, name: &str) -> Result<Option<String>, minijinja::Error> {
    let Some((path, relative)) = resolve_template_name(shared, name) else {
        return Ok(None);
    };
    let Some(file_client) = shared.file_client() else {
        return Ok(None);
    };
    let data = file_client
        .get(&path, &shared.saltenv)
        .map_err(|e| minijinja::Error::new(ErrorKind::TemplateNotFound, e.to_string()))?;
    let Some(data) = data else { return Ok(None) };
    // SaltCacheLoader.get_source: the globals' tpldir/tplfile/tpldot follow
    // the last template loaded (relative loads keep tpldir).
    let (tpldir, tplfile) = if relative {
        let dir = shared.tpldir.lock().map(|t| t.clone()).unwrap_or_default();
        (dir, name.to_string())
    } else {
        let dir = path
            .rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default();
        if let Ok(mut t) = shared.tpldir.lock() {
            *t = if dir.is_empty() {
                ".".to_string()
            } else {
                dir.clone()
            };
        }
        (dir, path.clone())
    };
    let text = String::from_utf8(data.bytes).map_err(|_| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("{path} is not valid UTF-8"),
        )
    })?;
    if !shared.salt_tags {
        return Ok(Some(text));
    }
    Ok(Some(format!(
        "{}{}",
        tags::loaded_prelude(&tpldir, &tplfile),
        tags::rewrite(&text)
    )))
}

/// Options from `jinja_env` / `jinja_sls_env` that shape the environment.
#[derive(Clone, PartialEq, Eq)]
struct EnvOptions {
    trim_blocks: bool,
    lstrip_blocks: bool,
    keep_trailing_newline: bool,
    block: (String, String),
    variable: (String, String),
    comment: (String, String),
    line_statement_prefix: Option<String>,
    line_comment_prefix: Option<String>,
}

fn env_options(opts: &Value, is_sls: bool) -> EnvOptions {
    let mut o = EnvOptions {
        trim_blocks: false,
        lstrip_blocks: false,
        keep_trailing_newline: false,
        block: ("{%".into(), "%}".into()),
        variable: ("{{".into(), "}}".into()),
        comment: ("{#".into(), "#}".into()),
        line_statement_prefix: None,
        line_comment_prefix: None,
    };
    let key = if is_sls { "jinja_sls_env" } else { "jinja_env" };
    if let Some(Value::Map(m)) = opts.get(key) {
        for (k, v) in m {
            let Some(k) = k.as_str() else { continue };
            let s = v.as_str().map(str::to_string);
            match k.to_lowercase().as_str() {
                "trim_blocks" => o.trim_blocks = v.truthy(),
                "lstrip_blocks" => o.lstrip_blocks = v.truthy(),
                "keep_trailing_newline" => o.keep_trailing_newline = v.truthy(),
                "block_start_string" => o.block.0 = s.unwrap_or(o.block.0),
                "block_end_string" => o.block.1 = s.unwrap_or(o.block.1),
                "variable_start_string" => o.variable.0 = s.unwrap_or(o.variable.0),
                "variable_end_string" => o.variable.1 = s.unwrap_or(o.variable.1),
                "comment_start_string" => o.comment.0 = s.unwrap_or(o.comment.0),
                "comment_end_string" => o.comment.1 = s.unwrap_or(o.comment.1),
                "line_statement_prefix" => o.line_statement_prefix = s,
                "line_comment_prefix" => o.line_comment_prefix = s,
                _ => {}
            }
        }
    }
    if opts.get("jinja_trim_blocks").is_some_and(Value::truthy) {
        o.trim_blocks = true;
    }
    if opts.get("jinja_lstrip_blocks").is_some_and(Value::truthy) {
        o.lstrip_blocks = true;
    }
    o
}

/// Extend borrowed seams to `'static` for the template environment.
///
/// SAFETY: callers store these references only in the [`Shared`] of one
/// call of [`render_with`], whose [`EndRender`] guard removes them before
/// that call returns; the environment, its loader and every template value
/// that may outlive the call reach them only through [`Shared`].
unsafe fn extend_functions<'a>(f: &'a dyn Functions) -> &'static dyn Functions {
    std::mem::transmute::<&'a dyn Functions, &'static dyn Functions>(f)
}

/// See [`extend_functions`].
unsafe fn extend_file_client<'a>(f: &'a dyn FileClient) -> &'static dyn FileClient {
    std::mem::transmute::<&'a dyn FileClient, &'static dyn FileClient>(f)
}

/// What selects an environment configuration: the `jinja_env` /
/// `jinja_sls_env` options and `allow_undefined`.
#[derive(Clone, PartialEq, Eq)]
struct EnvKey {
    opts: EnvOptions,
    lenient: bool,
}

/// The environment for `key` with everything that does not depend on one
/// render: settings, syntax, filters, tests and the render-independent
/// globals. Kept per thread by [`cache::base_env`].
fn build_base_env(key: &EnvKey) -> Result<Environment<'static>, String> {
    let eo = &key.opts;
    let mut env = Environment::new();
    env.set_undefined_behavior(if key.lenient {
        UndefinedBehavior::Lenient
    } else {
        UndefinedBehavior::Strict
    });
    env.set_trim_blocks(eo.trim_blocks);
    env.set_lstrip_blocks(eo.lstrip_blocks);
    env.set_keep_trailing_newline(eo.keep_trailing_newline);
    env.set_recursion_limit(500);
    // Debug info lets undefined-value errors name the offending type.
    env.set_debug(true);
    let default_syntax = eo.block.0 == "{%"
        && eo.block.1 == "%}"
        && eo.variable.0 == "{{"
        && eo.variable.1 == "}}"
        && eo.comment.0 == "{#"
        && eo.comment.1 == "#}"
        && eo.line_statement_prefix.is_none()
        && eo.line_comment_prefix.is_none();
    // The default syntax finds its delimiters without a pattern automaton.
    if !default_syntax {
        let mut syntax = minijinja::syntax::SyntaxConfig::builder();
        syntax
            .block_delimiters(eo.block.0.clone(), eo.block.1.clone())
            .variable_delimiters(eo.variable.0.clone(), eo.variable.1.clone())
            .comment_delimiters(eo.comment.0.clone(), eo.comment.1.clone());
        if let Some(p) = &eo.line_statement_prefix {
            syntax.line_statement_prefix(p.clone());
        }
        if let Some(p) = &eo.line_comment_prefix {
            syntax.line_comment_prefix(p.clone());
        }
        env.set_syntax(syntax.build().map_err(|e| e.to_string())?);
    }
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_unknown_method_callback(methods::unknown_method_callback);
    filters::register(&mut env);
    globals::register_static(&mut env);
    Ok(env)
}

/// Render a Jinja template as Salt's `render_jinja_tmpl` does.
///
/// `tmplpath` is the template's path (relative to its root, e.g.
/// `a/init.sls`, or a local path). `ctx.sls` non-empty selects the SLS
/// environment options (`jinja_sls_env`) and defines `sls`, `slspath`,
/// `tpldir`, `tplfile` & co.; otherwise (file templates) those are
/// undefined, as in Salt.
pub fn render(source: &str, tmplpath: &str, ctx: &RenderContext) -> Result<String, JinjaError> {
    render_with(source, tmplpath, ctx, !ctx.sls.is_empty(), false)
}

/// [`render`] for the SLS renderer pipeline: the jinja renderer always
/// passes `sls` (empty for top files), so the SLS variables are defined.
/// The template values of `opts`, `grains` and `pillar` are reused from
/// the previous SLS render while unchanged (see [`cache`]).
pub fn render_sls_template(
    source: &str,
    tmplpath: &str,
    ctx: &RenderContext,
) -> Result<String, JinjaError> {
    render_with(source, tmplpath, ctx, true, true)
}

fn render_with(
    source: &str,
    tmplpath: &str,
    ctx: &RenderContext,
    sls_context: bool,
    sls_pipeline: bool,
) -> Result<String, JinjaError> {
    let is_sls = !ctx.sls.is_empty();
    let key = EnvKey {
        opts: env_options(ctx.opts, is_sls),
        lenient: ctx.opts.get("allow_undefined").is_some_and(Value::truthy),
    };
    let nest = cache::Nest::enter();
    let salt_tags = key.opts.block.0 == "{%" && key.opts.block.1 == "%}";
    // SAFETY: see `extend_functions`; `_end` clears them before returning.
    let shared = Arc::new(Shared {
        seams: Mutex::new(Some(Seams {
            functions: unsafe { extend_functions(ctx.functions) },
            file_client: unsafe { extend_file_client(ctx.file_client) },
        })),
        saltenv: ctx.saltenv.to_string(),
        tpldir: Mutex::new(String::new()),
        salt_tags,
    });
    let _end = EndRender(shared.clone());

    let mut env = match cache::base_env(&key) {
        Ok(env) => env,
        Err(e) => {
            return Err(JinjaError {
                message: format!("Jinja syntax error: {e}"),
                line: None,
            })
        }
    };
    {
        let shared = shared.clone();
        env.set_loader(move |name| load_template(&shared, name));
    }

    // The context: Salt puts every variable in the globals too, so imported
    // templates see them. Later entries win, as in a Python dict update.
    let sls_vars = if sls_context {
        let mut m = Map::default();
        m.insert("sls".into(), ctx.sls.into());
        m.extend(generate_sls_context(tmplpath, ctx.sls));
        m
    } else {
        Map::default()
    };
    let mut tpldir: Option<&str> = None;
    let mut names: Vec<&str> = Vec::new();
    for (k, v) in sls_vars.iter().chain(ctx.extra.iter()) {
        if k.as_str() == Some("tpldir") {
            tpldir = v.as_str();
        }
        if let Some(k) = k.as_str() {
            names.push(k);
        }
    }
    if let Ok(mut t) = shared.tpldir.lock() {
        *t = tpldir.unwrap_or(".").to_string();
    }
    // grains, opts and pillar: cached across the outermost SLS renders of
    // the thread while unchanged (see `cache`), fresh copies otherwise.
    let share = sls_pipeline && nest.is_outermost();
    let fixed = [
        ("grains", cache::Global::Grains, ctx.grains),
        ("opts", cache::Global::Opts, ctx.opts),
        ("pillar", cache::Global::Pillar, ctx.pillar),
    ];
    for (name, which, src) in fixed {
        if names.contains(&name) {
            continue;
        }
        // Salt's YAML renderer builds pillar as OrderedDicts.
        let ordered = name == "pillar";
        let v = if share {
            cache::shared_global(which, src, ordered)
        } else if ordered {
            convert::to_jinja_ordered(src)
        } else {
            to_jinja(src)
        };
        env.add_global(name, v);
    }
    if !names.contains(&"saltenv") {
        env.add_global("saltenv", MjValue::from(ctx.saltenv));
    }
    for (k, v) in sls_vars.iter().chain(ctx.extra.iter()) {
        if let Some(k) = k.as_str() {
            let v = if k == "pillar" {
                convert::to_jinja_ordered(v)
            } else {
                to_jinja(v)
            };
            env.add_global(k.to_string(), v);
        }
    }
    env.add_global("salt", globals::salt_object(&shared));
    globals::register(&mut env, &shared);
    // Salt's own globals win over context variables of the same name.
    if names.iter().any(|n| globals::STATIC_NAMES.contains(n)) {
        globals::register_static(&mut env);
    }

    let rewritten = if shared.salt_tags {
        tags::rewrite_cow(source)
    } else {
        Cow::Borrowed(source)
    };
    let name = if tmplpath.is_empty() {
        "<template>"
    } else {
        tmplpath
    };
    let tmpl = match env.template_from_named_str(name, &rewritten) {
        Ok(t) => t,
        Err(e) => return Err(make_error(&e, source, &rewritten, name, &env)),
    };
    // Forget failed lookups of earlier renders (see `undefined_text`).
    let _ = minijinja::value::take_last_undefined();
    let mut out = match tmpl.render(()) {
        Ok(s) => s,
        Err(e) => return Err(make_error(&e, source, &rewritten, name, &env)),
    };
    if source.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// The offending expression text for an error, from its source range.
fn error_snippet<'s>(e: &minijinja::Error, source: &'s str) -> Option<&'s str> {
    let r = e.range()?;
    // minijinja's span of `a.b.c` starts after `a`: walk back over the
    // lookup chain so the snippet starts at its base variable.
    let bytes = source.as_bytes();
    let mut start = r.start.min(bytes.len());
    while let Some(&c) = start.checked_sub(1).and_then(|i| bytes.get(i)) {
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' {
            start -= 1;
        } else if c == b']' {
            let Some(open) = source[..start].rfind('[') else {
                break;
            };
            start = open;
        } else {
            break;
        }
    }
    source.get(start..r.end)
}

/// Jinja2's wording of an undefined-value error.
fn undefined_text(e: &minijinja::Error, snippet_src: &str, env: &Environment) -> String {
    // Jinja2's undefined values carry their origin; the VM notes the last
    // failed lookup, which is where a `set` variable, a macro argument or an
    // inline if got its undefined value from.
    let hint = minijinja::value::take_last_undefined().map(|(parent, key, attr)| {
        let seg = if attr {
            Seg::Attr(key.to_string())
        } else if let Some(k) = key.as_str() {
            Seg::Item(k.to_string())
        } else if let Some(i) = key.as_i64() {
            Seg::Index(i)
        } else {
            Seg::Item(key.to_string())
        };
        missing_text(py_type_name(&parent), &seg)
    });
    if let Some(snippet) = error_snippet(e, snippet_src) {
        let snippet = snippet.trim();
        // A call of an undefined value: look at the callee.
        let callee = match snippet.find('(') {
            Some(i) if snippet.ends_with(')') => &snippet[..i],
            _ => snippet,
        };
        if let Some(chain) = parse_chain(callee.trim()) {
            // A bare name bound to an undefined value: its origin.
            let bound_undefined = chain.1.is_empty()
                && e.referenced_locals()
                    .and_then(|l| l.get(&chain.0))
                    .is_some_and(|v| v.is_undefined());
            if let (true, Some(hint)) = (bound_undefined, hint) {
                return hint;
            }
            return undefined_in_chain(&chain, env, e.referenced_locals());
        }
    }
    if let Some(hint) = hint {
        return hint;
    }
    match e.detail() {
        Some(d) => d.to_string(),
        None => "undefined value".to_string(),
    }
}

/// One step of `a.b['c'][0]`.
enum Seg {
    Attr(String),
    Item(String),
    Index(i64),
}

/// Split a plain lookup chain (`pillar.users['x'].y`); `None` for anything
/// else (calls, filters, operators).
fn parse_chain(s: &str) -> Option<(String, Vec<Seg>)> {
    let is_ident_char = |c: char| c.is_alphanumeric() || c == '_';
    let base_end = s.find(|c: char| !is_ident_char(c)).unwrap_or(s.len());
    let base = &s[..base_end];
    if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut rest = s[base_end..].trim_start();
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let r = r.trim_start();
            let end = r.find(|c: char| !is_ident_char(c)).unwrap_or(r.len());
            if end == 0 {
                return None;
            }
            segs.push(Seg::Attr(r[..end].to_string()));
            rest = r[end..].trim_start();
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let inner = r[..close].trim();
            let quoted = inner.len() >= 2
                && ((inner.starts_with('\'') && inner.ends_with('\''))
                    || (inner.starts_with('"') && inner.ends_with('"')));
            if quoted {
                segs.push(Seg::Item(inner[1..inner.len() - 1].to_string()));
            } else {
                segs.push(Seg::Index(inner.parse().ok()?));
            }
            rest = r[close + 1..].trim_start();
        } else {
            return None;
        }
    }
    Some((base.to_string(), segs))
}

/// Python's type name for Jinja2's "'X object' has no attribute" text.
fn py_type_name(v: &minijinja::Value) -> &'static str {
    use minijinja::value::{MutList, MutMap, Tuple, ValueKind};
    if let Some(m) = v.downcast_object_ref::<MutMap>() {
        return if m.is_ordered() {
            "collections.OrderedDict"
        } else {
            "dict"
        };
    }
    if v.downcast_object_ref::<MutList>().is_some() {
        return "list";
    }
    if v.downcast_object_ref::<Tuple>().is_some() {
        return "tuple";
    }
    match v.kind() {
        ValueKind::String => "str",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::None => "NoneType",
        ValueKind::Seq => "list",
        _ => "dict",
    }
}

/// Find the first missing step of a lookup chain, evaluated against the
/// globals (loop variables and `set`s are not visible here).
fn undefined_in_chain(
    (base, segs): &(String, Vec<Seg>),
    env: &Environment,
    locals: Option<&std::collections::BTreeMap<String, minijinja::Value>>,
) -> String {
    if segs.is_empty() {
        return format!("'{base}' is undefined");
    }
    let mut cur = locals.and_then(|l| l.get(base)).cloned().or_else(|| {
        let e = env.compile_expression(base).ok()?;
        e.eval(()).ok()
    });
    // Jinja2 reports the undefined base itself ("'nope' is undefined"),
    // not an attribute lookup on it.
    if cur.as_ref().is_none_or(|v| v.is_undefined()) {
        return format!("'{base}' is undefined");
    }
    for seg in segs {
        let parent = cur.filter(|v| !v.is_undefined());
        let next = parent.as_ref().and_then(|p| {
            let v = match seg {
                Seg::Attr(a) => p.get_attr(a).ok(),
                Seg::Item(k) => p.get_item(&minijinja::Value::from(k.as_str())).ok(),
                Seg::Index(i) => p.get_item(&minijinja::Value::from(*i)).ok(),
            };
            v.filter(|v| !v.is_undefined())
        });
        if next.is_none() {
            let tname = parent.as_ref().map(py_type_name).unwrap_or("dict");
            return missing_text(tname, seg);
        }
        cur = next;
    }
    "undefined value".to_string()
}

/// Jinja2's hint for a failed lookup on a `tname` value.
fn missing_text(tname: &str, seg: &Seg) -> String {
    match seg {
        Seg::Index(i) if tname == "list" || tname == "tuple" => {
            format!("{tname} object has no element {i}")
        }
        Seg::Attr(a) | Seg::Item(a) => format!("'{tname} object' has no attribute '{a}'"),
        Seg::Index(i) => format!("'{tname} object' has no attribute {i}"),
    }
}

/// Build Salt's message for a minijinja error.
fn make_error(
    e: &minijinja::Error,
    source: &str,
    rewritten: &str,
    name: &str,
    env: &Environment,
) -> JinjaError {
    // Errors inside included templates come wrapped ("error in ...");
    // report the innermost one, as Jinja2 does.
    let mut e = e;
    while let Some(inner) =
        std::error::Error::source(e).and_then(|s| s.downcast_ref::<minijinja::Error>())
    {
        e = inner;
    }
    let detail = e.detail().unwrap_or_default().to_string();
    // Errors in other templates (imports, includes) report that template.
    let same_template = e.name().is_none_or(|n| n == name);
    let snippet_src = if same_template {
        rewritten
    } else {
        e.template_source().unwrap_or("")
    };
    let (head, cause) = match e.kind() {
        ErrorKind::UndefinedError => ("Jinja variable ", undefined_text(e, snippet_src, env)),
        ErrorKind::InvalidOperation if detail.contains("undefined is not callable") => {
            ("Jinja variable ", undefined_text(e, snippet_src, env))
        }
        ErrorKind::UnknownFilter | ErrorKind::UnknownTest => {
            let what = if e.kind() == ErrorKind::UnknownFilter {
                "filter"
            } else {
                "test"
            };
            let name = detail
                .strip_prefix(&format!("{what} "))
                .and_then(|d| d.strip_suffix(" is unknown"))
                .unwrap_or(&detail)
                .to_string();
            // Only filters/tests inside an `if` fail at run time (the others
            // fail when the template is loaded): Jinja2's runtime wording.
            (
                "Jinja syntax error: ",
                format!("No {what} named '{name}' found."),
            )
        }
        ErrorKind::SyntaxError => (
            "Jinja syntax error: ",
            if detail.is_empty() {
                e.to_string()
            } else {
                detail
            },
        ),
        ErrorKind::TemplateNotFound => {
            let missing = detail
                .strip_prefix("tried to include non-existing template ")
                .or_else(|| {
                    detail
                        .strip_prefix("template ")
                        .and_then(|d| d.strip_suffix(" does not exist"))
                })
                .map(|d| d.trim_matches('"').to_string())
                .unwrap_or(detail);
            ("Jinja error: ", missing)
        }
        _ => {
            let d = if detail.is_empty() {
                e.kind().to_string()
            } else {
                detail
            };
            if let Some(rest) = d.strip_prefix(SALT_FN_ERROR) {
                (
                    "Problem running salt function in Jinja template: ",
                    rest.to_string(),
                )
            } else if let Some(rest) = d.strip_prefix(RUNTIME_ERROR) {
                ("Jinja syntax error: ", rest.to_string())
            } else if let Some(rest) = d.strip_prefix(RAISE_ERROR) {
                ("Jinja error: ", rest.to_string())
            } else if d.starts_with("missing an argument for format spec") {
                (
                    "Jinja error: ",
                    "not enough arguments for format string".to_string(),
                )
            } else {
                ("Jinja error: ", d)
            }
        }
    };
    let line = e.line();
    let mut message = format!("{head}{cause}");
    if !same_template {
        if let (Some(other), Some(l)) = (e.name(), line) {
            let other_src = tags::strip_prelude(e.template_source().unwrap_or(""));
            message.push_str(&format!("\n{other}({l}):\n"));
            if !other_src.is_empty() {
                message.push_str(&get_context(other_src, l));
            }
        }
        return JinjaError {
            message,
            line: None,
        };
    }
    if let Some(l) = line {
        message.push_str(&format!("; line {l}\n\n{}", get_context(source, l)));
    }
    JinjaError { message, line }
}

#[cfg(test)]
mod tests;
