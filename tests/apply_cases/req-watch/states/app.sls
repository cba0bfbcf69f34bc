{% set root = grains['scratch'] %}
changed:
  file.managed:
    - name: {{ root }}/changed
    - contents: new
unchanged:
  file.managed:
    - name: {{ root }}/unchanged
    - contents: same
    - replace: False
fails:
  cmd.run:
    - name: 'false'
wait_changed:
  cmd.wait:
    - name: echo saw-change
    - watch:
      - file: changed
wait_unchanged:
  cmd.wait:
    - name: echo never
    - watch:
      - file: unchanged
run_unchanged:
  cmd.run:
    - name: echo runs-anyway
    - watch:
      - file: unchanged
watch_failed:
  cmd.run:
    - name: echo never
    - watch:
      - cmd: fails
