{% set root = grains['scratch'] %}
db_conf:
  file.managed:
    - name: {{ root }}/etc/db.conf
    - contents: never
