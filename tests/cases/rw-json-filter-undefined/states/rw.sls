{%- set user = {'name': 'bob'} %}
x:
  test.nop:
    - members: {{ user.members | json }}
