{% set root = grains['scratch'] %}
motd:
  file.managed:
    - name: {{ root }}/etc/motd
    - makedirs: True
    - contents: "{{ pillar['site'] }} host {{ grains['id'] }}"
