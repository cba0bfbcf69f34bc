{%- set mine_hosts = salt['mine.get']('*', 'network.ip_addrs', expr_form='glob') %}
x:
  test.nop:
    - mine: {{ mine_hosts | json }}
