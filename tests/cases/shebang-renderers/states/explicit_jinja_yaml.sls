#!jinja|yaml
explicit_jinja_yaml:
  test.nop:
    - value: {{ 1 + 1 }}
