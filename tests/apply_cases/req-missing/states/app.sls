{% set root = grains['scratch'] %}
orphan:
  file.managed:
    - name: {{ root }}/orphan
    - contents: orphan
    - require:
      - file: nowhere
orphan_watch:
  cmd.run:
    - name: echo x
    - watch:
      - cmd: ghost
fine:
  file.managed:
    - name: {{ root }}/fine
    - contents: fine
