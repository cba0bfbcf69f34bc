{%- set hosts = {'dns.quad9.net': '9.9.9.9'} %}
{%- set mine_hosts = salt['mine.get']('*', 'network.ip_addrs', tgt_type='glob') %}
{%- do hosts.update(mine_hosts) %}
{%- for name, addr in hosts.items() %}
{{ name }}-host-entry:
  host.present:
    - ip: {{ addr }}
    - mine: {{ mine_hosts | json }}
{%- endfor %}
