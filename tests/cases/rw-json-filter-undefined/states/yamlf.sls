{%- set cfg = {'a': 1} %}
x:
  test.nop:
    - v: {{ cfg['missing'] | yaml }}
