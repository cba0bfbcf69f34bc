# Docker engine, configured to use cbr0 on pool nodes.
{% set is_pool = 'kubernetes-pool' in grains.get('roles', []) %}

include:
  - base
{% if is_pool %}
  - cbr0
{% endif %}

docker:
  pkg.installed:
    - name: {{ pillar.get('docker_pkg', 'docker.io') }}
{% if pillar.get('docker_version') %}
    - version: {{ pillar['docker_version'] }}
{% endif %}
  service.running:
    - name: docker
    - enable: True
    - watch:
      - pkg: docker
      - file: /etc/default/docker
{% if is_pool %}
    - require:
      - cmd: cbr0
{% endif %}

/etc/default/docker:
  file.managed:
    - source: salt://docker/docker-defaults
    - template: jinja
    - user: root
    - group: root
    - mode: 644
    - makedirs: True
