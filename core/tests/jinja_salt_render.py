"""Render Jinja test cases with real Salt (salt.utils.templates.render_jinja_tmpl).

Reads a JSON document from stdin:
  {"file_root": DIR, "grains": {...}, "pillar": {...}, "opts": {...},
   "mode": "jinja" | "sls",
   "cases": [{"name": N, "source": TEXT, "sls": SLS, "tmplpath": PATH}]}
and writes {"name": {"ok": TEXT} | {"err": MESSAGE}} as JSON to stdout.
In "sls" mode each case is the file DIR/PATH rendered through Salt's
renderer pipeline (salt.template.compile_template with the default
`jinja|yaml`), "ok" holding the data as JSON text.
"""
import json
import sys
import tempfile
import logging

logging.disable(logging.CRITICAL)

import os

import salt.config
import salt.loader
import salt.template
import salt.fileclient
import salt.utils.data
import salt.utils.templates
from salt.utils.odict import OrderedDict


def main():
    doc = json.load(sys.stdin, object_pairs_hook=OrderedDict)
    cache = tempfile.mkdtemp(prefix="brine-jinja-salt-")
    opts = salt.config.minion_config(None)
    opts.update(
        {
            "file_client": "local",
            "file_roots": {"base": [doc["file_root"]]},
            "cachedir": cache,
            "id": doc["grains"].get("id", "minion"),
        }
    )
    opts.update(doc.get("opts", {}))
    # Grains are plain dicts in Salt; pillar (YAML-rendered) is OrderedDicts.
    grains = json.loads(json.dumps(doc["grains"]))
    pillar = doc["pillar"]

    def pillar_get(key, default="", **kwargs):
        return salt.utils.data.traverse_dict_and_list(pillar, key, default, ":")

    def grains_get(key, default="", **kwargs):
        return salt.utils.data.traverse_dict_and_list(grains, key, default, ":")

    def test_echo(text=None, **kwargs):
        return text

    def test_kwargs(**kwargs):
        return kwargs

    funcs = {
        "pillar.get": pillar_get,
        "grains.get": grains_get,
        "test.echo": test_echo,
        "test.kwargs": test_kwargs,
    }
    # The jinja renderer exposes salt.mod.fun as attributes too.
    import salt.renderers.jinja as rj

    rj.__salt__ = funcs
    salt_obj = rj._split_module_dicts()

    client = salt.fileclient.get_file_client(opts)
    out = {}
    if doc.get("mode") == "sls":
        opts["grains"] = grains
        opts["pillar"] = pillar
        rend = salt.loader.render(opts, funcs, file_client=client)
        for case in doc["cases"]:
            path = os.path.join(doc["file_root"], case["tmplpath"])
            try:
                data = salt.template.compile_template(
                    path,
                    rend,
                    opts["renderer"],
                    opts["renderer_blacklist"],
                    opts["renderer_whitelist"],
                    saltenv="base",
                    sls=case["sls"],
                )
                if hasattr(data, "read"):
                    data = data.read()
                out[case["name"]] = {"ok": json.dumps(data)}
            except Exception as exc:  # pylint: disable=broad-except
                out[case["name"]] = {"err": str(exc)}
        json.dump(out, sys.stdout)
        return
    for case in doc["cases"]:
        case_opts = dict(opts)
        case_opts.update(case.get("opts") or {})
        context = {
            "opts": case_opts,
            "saltenv": "base",
            "grains": grains,
            "pillar": pillar,
            "salt": salt_obj,
            "fileclient": client,
        }
        if case.get("sls"):
            context["sls"] = case["sls"]
            context.update(
                salt.utils.templates.generate_sls_context(case["tmplpath"], case["sls"])
            )
        try:
            text = salt.utils.templates.render_jinja_tmpl(
                case["source"], context, tmplpath=case["tmplpath"]
            )
            out[case["name"]] = {"ok": text}
        except Exception as exc:  # pylint: disable=broad-except
            out[case["name"]] = {"err": str(exc)}
    json.dump(out, sys.stdout)


main()
