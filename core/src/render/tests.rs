//! Unit tests for renderer pipelines.

use super::*;

#[test]
fn pipes() {
    assert_eq!(
        parse_pipe("jinja|yaml").unwrap(),
        vec![Renderer::Jinja, Renderer::Yaml]
    );
    assert_eq!(
        parse_pipe("yaml_jinja").unwrap(),
        vec![Renderer::Jinja, Renderer::Yaml]
    );
    assert_eq!(
        parse_pipe(" jinja | json ").unwrap(),
        vec![Renderer::Jinja, Renderer::Json]
    );
    assert_eq!(
        parse_pipe("yaml|gpg").unwrap(),
        vec![Renderer::Yaml, Renderer::Gpg]
    );
    assert_eq!(
        parse_pipe("py").unwrap_err().message,
        "renderer 'py' is not supported by Brine"
    );
    assert_eq!(
        template_shebang("#!json\n{}", "jinja|yaml").unwrap(),
        vec![Renderer::Json]
    );
    assert_eq!(
        template_shebang("#!/bin/sh\n", "jinja|yaml").unwrap(),
        vec![Renderer::Jinja, Renderer::Yaml]
    );
}

#[test]
fn json_renderer() {
    let v = render_json("#!json\n{\"b\": 1, \"a\": [true, null]}").unwrap();
    let keys: Vec<_> = v.as_map().unwrap().keys().cloned().collect();
    assert_eq!(keys, vec![Value::from("b"), Value::from("a")]);
    assert_eq!(render_json("#!json\n  \n").unwrap(), Value::map());
}

mod sls {
    use super::super::*;
    use crate::fileclient::LocalFileClient;
    use crate::functions::NoFunctions;

    fn render(text: &str) -> Result<Value, RenderError> {
        let opts = Value::map();
        let grains = Value::map();
        let pillar = Value::map();
        let fc = LocalFileClient::default();
        let ctx = RenderContext {
            opts: &opts,
            grains: &grains,
            pillar: &pillar,
            saltenv: "base",
            sls: "a",
            functions: &NoFunctions,
            file_client: &fc,
            extra: Map::default(),
        };
        render_sls(text, "a.sls", "jinja|yaml", &ctx)
    }

    #[test]
    fn empty_output_is_empty_dict() {
        assert_eq!(render("").unwrap(), Value::map());
        assert_eq!(render("  \n").unwrap(), Value::map());
        assert_eq!(
            render("{% if false %}a: 1{% endif %}\n").unwrap(),
            Value::map()
        );
        assert_eq!(
            render("#!jinja|yaml\n# only a comment\n").unwrap(),
            Value::map()
        );
    }

    #[test]
    fn pipes_render() {
        let v = render("#!jinja|json\n{\"b\": {{ 1 + 1 }}, \"a\": 1}\n").unwrap();
        assert_eq!(v.get("b"), Some(&Value::Int(2)));
        let v = render("#!yaml\nx: '{{ not_rendered }}'\n").unwrap();
        assert_eq!(v.get("x"), Some(&Value::from("{{ not_rendered }}")));
        let v = render("{% set n = 'x' %}{{ n }}:\n  test.nop: []\n").unwrap();
        assert!(v.get("x").is_some());
    }

    #[test]
    fn errors_read_like_salt() {
        let e = render("a:\n  b: {{ nope }}\n").unwrap_err();
        assert!(
            e.message
                .starts_with("Jinja variable 'nope' is undefined; line 2"),
            "{}",
            e.message
        );
        let e = render("a:\n\tb: 1\n").unwrap_err();
        assert_eq!(e.message, "found character that cannot start any token");
        let e = render("a: 1\na: 2\n").unwrap_err();
        assert!(
            e.message.contains("found conflicting ID 'a'"),
            "{}",
            e.message
        );
        let e = render("#!py\ndef run(): return {}\n").unwrap_err();
        assert_eq!(e.message, "renderer 'py' is not supported by Brine");
    }
}

#[test]
fn gpg_passes_plain_data_and_refuses_ciphertext() {
    if std::env::var_os("PATH")
        .is_none_or(|p| !std::env::split_paths(&p).any(|d| d.join("gpg").is_file()))
    {
        assert_eq!(
            render_gpg(Value::map()).unwrap_err().message,
            "GPG unavailable"
        );
        return;
    }
    let plain = render_yaml("a: [1, x]\nb: {c: d}\n").unwrap();
    assert_eq!(render_gpg(plain.clone()).unwrap(), plain);
    let secret = render_yaml(
        "a:\n  b: |\n    -----BEGIN PGP MESSAGE-----\n    xyz\n    -----END PGP MESSAGE-----\n",
    )
    .unwrap();
    let err = render_gpg(secret).unwrap_err().message;
    assert!(err.contains("cannot decrypt"), "{err}");
}
