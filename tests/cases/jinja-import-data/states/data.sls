{% import_yaml 'defaults.yaml' as defaults %}
{% import_json 'extra.json' as extra %}
{% import_text 'motd.txt' as motd %}
{% load_yaml as inline %}
name: inline
list:
  - 1
  - two
flag: on
{% endload %}
{% load_json as inline_json %}
{"k": [1, 2, {"n": null}]}
{% endload %}
{% set from_str = 'a: [1, 2]' | load_yaml %}
{% set from_json = '{"x": true}' | load_json %}
imported:
  test.nop:
    - defaults: {{ defaults | json }}
    - port: {{ defaults.port }}
    - extra: {{ extra | json }}
    - motd: {{ motd | json }}
    - inline: {{ inline | json }}
    - inline_json: {{ inline_json | json }}
    - from_str: {{ from_str | json }}
    - from_json: {{ from_json | json }}
