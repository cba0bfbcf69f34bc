{% set root = grains['scratch'] %}
motd:
  file.managed:
    - name: {{ root }}/etc/motd
    - source: salt://files/motd2
