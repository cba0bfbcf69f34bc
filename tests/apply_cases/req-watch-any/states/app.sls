{% set root = grains['scratch'] %}
a:
  file.managed:
    - name: {{ root }}/a
    - contents: a
b:
  cmd.run:
    - name: 'false'
c:
  cmd.run:
    - name: 'false'
watcher:
  cmd.wait:
    - name: echo watched
    - watch_any:
      - file: a
      - cmd: b
all_failed:
  cmd.wait:
    - name: echo never
    - watch_any:
      - cmd: b
      - cmd: c
