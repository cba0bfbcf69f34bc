{% set root = grains['scratch'] %}
include:
  - base
third:
  file.managed:
    - name: {{ root }}/third
    - contents: '3'
    - require:
      - file: second
second:
  file.managed:
    - name: {{ root }}/second
    - contents: '2'
    - require:
      - sls: base
broken:
  cmd.run:
    - name: 'false'
after_broken:
  file.managed:
    - name: {{ root }}/never
    - contents: never
    - require:
      - cmd: broken
by_id_only:
  cmd.run:
    - name: echo by-id
    - require:
      - second
