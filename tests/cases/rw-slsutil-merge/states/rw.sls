{%- set base = {"pkg": {"name": "app", "opts": ["a"]}, "config": "/etc/app", "keep": 1} %}
{%- set upd = {"pkg": {"name": "app-debian", "opts": ["b"]}, "config": "/etc/app.d/custom.conf", "new": None} %}
{%- set stack = {"values": {}} %}
{%- do stack.update({"values": salt["slsutil.merge"](stack["values"], base, strategy="smart", merge_lists=False)}) %}
{%- do stack.update({"values": salt["slsutil.merge"](stack["values"], upd, strategy="smart", merge_lists=False)}) %}
merge_smart:
  test.nop:
    - values: {{ stack["values"] | json }}
    - base_untouched: {{ base | json }}
merge_recurse_lists:
  test.nop:
    - values: {{ salt["slsutil.merge"](base, upd, strategy="recurse", merge_lists=True) | json }}
merge_overwrite:
  test.nop:
    - values: {{ salt["slsutil.merge"](base, upd, strategy="overwrite") | json }}
merge_positional:
  test.nop:
    - values: {{ salt["slsutil.merge"](base, upd) | json }}
merge_all:
  test.nop:
    - values: {{ salt["slsutil.merge_all"]([base, upd, {"keep": 2}]) | json }}
