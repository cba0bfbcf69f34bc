{% set users = ['alice', 'bob', 'carol'] %}
{% set ns = namespace(count=0) %}
{% for user in users %}
{%   set ns.count = ns.count + 1 %}
user_{{ user }}:
  user.present:
    - name: {{ user }}
    - uid: {{ 1000 + loop.index0 }}
    - first: {{ loop.first }}
    - last: {{ loop.last }}
{%   if user == 'bob' %}
    - shell: /bin/zsh
{%   elif user.startswith('c') %}
    - shell: /bin/sh
{%   else %}
    - shell: /bin/bash
{%   endif %}
{% endfor %}

summary:
  test.nop:
    - count: {{ ns.count }}
    - total: {{ users | length }}
{%- for k, v in {'b': 2, 'a': 1}.items() %}
    - item_{{ k }}: {{ v }}
{%- endfor %}
{# a comment that renders to nothing #}
    - range: {{ range(3) | list }}
    - inline_if: {{ 'yes' if users else 'no' }}
    - math: {{ (7 // 2) ~ '-' ~ (7 % 3) ~ '-' ~ 2 ** 3 }}
    - div: {{ 7 / 2 }}
    - tests: {{ users is sequence }}-{{ 3 is odd }}-{{ none is none }}
    - loop_else: {% for x in [] %}{{ x }}{% else %}empty{% endfor %}
