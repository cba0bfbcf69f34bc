#!yaml_jinja
yaml_jinja:
  test.nop:
    - value: {{ 'a' ~ 'b' }}
