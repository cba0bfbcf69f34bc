"""Expected results for Brine's YAML conformance tests, computed by real Salt.

Reads a JSON list of cases on stdin and prints a JSON list of results, one
per case. Run with Salt's venv python (.salt-venv/bin/python).

Case kinds:
  load    SaltYamlSafeLoader(dictclass=OrderedDict) -> typed rendering
  safe_load  salt.utils.yaml.safe_load (dictclass=dict) -> typed rendering
  dump    salt.utils.yaml.safe_dump(value, **opts)
  jinja   the Jinja `yaml` filter ({{ v|yaml(flow) }})
  dquote / squote / encode   salt.utils.yamlencoding filters
Values for the dump kinds are loaded from `src` with the OrderedDict loader,
or with plain dicts (salt.utils.yaml.safe_load) when `sort` is true, so that
PyYAML sorts their keys.
"""
import json
import sys

import yaml

import salt.utils.yaml
import salt.utils.yamlencoding
import salt.utils.yamlloader as yl
from salt.utils.odict import OrderedDict


def render(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return "i:%d" % v
    if isinstance(v, float):
        return "f:" + repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bytes):
        return "b:" + v.hex()
    if isinstance(v, (list, tuple)):
        # !!pairs gives tuples; Brine has no tuple and uses lists.
        return "[" + ", ".join(render(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(render(k) + ": " + render(x) for k, x in v.items()) + "}"
    return "other:" + type(v).__name__


def load_ordered(src):
    return yaml.load(src, Loader=lambda s: yl.SaltYamlSafeLoader(s, dictclass=OrderedDict))


def run(case):
    kind = case.get("kind", "load")
    src = case["src"]
    try:
        if kind == "load":
            return render(load_ordered(src))
        if kind == "safe_load":
            return render(salt.utils.yaml.safe_load(src))
        value = salt.utils.yaml.safe_load(src) if case.get("sort") else load_ordered(src)
        if kind == "dump":
            return salt.utils.yaml.safe_dump(value, **case.get("opts", {}))
        if kind == "jinja":
            import jinja2

            env = jinja2.Environment(extensions=["salt.utils.jinja.SerializerExtension"])
            flow = case.get("flow", True)
            tmpl = "{{ v|yaml(%s) }}" % ("None" if flow is None else flow)
            return env.from_string(tmpl).render(v=value)
        if kind == "dquote":
            return salt.utils.yamlencoding.yaml_dquote(value)
        if kind == "squote":
            return salt.utils.yamlencoding.yaml_squote(value)
        if kind == "encode":
            return salt.utils.yamlencoding.yaml_encode(value)
        return "EXC:unknown kind"
    except yaml.YAMLError as exc:
        return "ERR:" + str(exc)
    except Exception as exc:  # pylint: disable=broad-except
        return "EXC:" + type(exc).__name__


def main():
    cases = json.load(sys.stdin)
    json.dump([run(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
