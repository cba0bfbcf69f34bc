{%- set users = {'root_group': 'root'} %}
{%- set user = {} %}
user:
  test.nop:
    - allow_gid_change: {{ users.allow_gid_change if 'allow_gid_change' not in user else user['allow_gid_change'] }}
