{%- macro show(x) %}{{ x }}{% endmacro %}
{%- set cfg = {'a': 1} %}
user:
  test.nop:
    - v: {{ show(cfg['missing_key']) }}
