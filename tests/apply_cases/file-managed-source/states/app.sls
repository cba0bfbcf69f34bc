{% set root = grains['scratch'] %}
motd:
  file.managed:
    - name: {{ root }}/etc/motd
    - source: salt://files/motd
    - makedirs: True
script:
  file.managed:
    - name: {{ root }}/bin/run.sh
    - source: salt://files/run.sh
    - mode: '0755'
    - makedirs: True
