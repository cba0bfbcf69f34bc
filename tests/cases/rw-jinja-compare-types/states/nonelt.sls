{%- set port = none %}
x:
  test.nop:
    - low: {{ port < 1024 }}
