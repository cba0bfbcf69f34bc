#!jinja|yaml
templated:
  test.nop:
    - id: {{ grains['id'] }}
