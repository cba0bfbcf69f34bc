{% set root = grains['scratch'] %}
include:
  - common
web_conf:
  file.managed:
    - name: {{ root }}/etc/web.conf
    - contents: listen {{ pillar['web']['port'] }}
    - require:
      - file: motd
