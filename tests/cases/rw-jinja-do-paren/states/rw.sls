{%- set l = [] %}
{%- do ("a" ~ "b") %}
{%- do (
      "multi-line "
      ~ l | length
    ) %}
{%- do l.append(1) or l.append(2) %}
x:
  test.nop:
    - l: {{ l }}
