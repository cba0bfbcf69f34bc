# Rotate the log files of the components this machine runs.
{% set logs = ['kube-proxy'] %}
{% if 'kubernetes-master' in grains.get('roles', []) %}
{% set logs = logs + ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'] %}
{% endif %}

logrotate:
  pkg.installed: []

{% for log in logs %}
/etc/logrotate.d/{{ log }}:
  file.managed:
    - source: salt://logrotate/conf
    - template: jinja
    - user: root
    - group: root
    - mode: 644
    - context:
        file: {{ log }}
    - require:
      - pkg: logrotate
{% endfor %}
