{% for server in pillar['ntp_servers'] %}
ntp_{{ loop.index }}:
  test.nop:
    - server: {{ server }}
{% endfor %}
nginx_conf:
  test.nop:
    - workers: {{ salt['pillar.get']('nginx:worker_processes') }}
    - vhost: {{ pillar['nginx']['vhosts'][0]['name'] }}
