{%- set users = {'root_group': 'root'} %}
{%- set v = users.allow_gid_change if true else 2 %}
user:
  test.nop:
    - v: {{ v }}
