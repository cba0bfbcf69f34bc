{%- set defaults = {"name": "Europe/Berlin", "utc": True, "pkg": {"name": "tzdata"}, "lst": [1]} %}
{%- set osfam = {"pkg": {"name": "timezone"}, "lst": [2], "extra": None} %}
{%- set copy = salt['defaults.deepcopy'](defaults) %}
{%- set ret = salt['defaults.merge'](defaults, osfam) %}
{%- set merged_copy = salt['defaults.merge'](copy, osfam, merge_lists=True, in_place=False) %}
defaults_merge:
  test.nop:
    - ret: {{ ret | json }}
    - defaults: {{ defaults | json }}
    - copy: {{ copy | json }}
    - merged_copy: {{ merged_copy | json }}
defaults_update:
  test.nop:
    - updated: {{ salt['defaults.update']({"a": {"x": 1}}, {"a": {"y": 2}, "b": 3}, in_place=False) | json }}
