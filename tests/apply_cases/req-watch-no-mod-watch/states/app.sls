{% set root = grains['scratch'] %}
trigger:
  cmd.run:
    - name: echo trigger
quiet:
  cmd.run:
    - name: 'true'
    - unless: 'true'
boom:
  cmd.run:
    - name: 'false'
f_on_changed:
  file.managed:
    - name: {{ root }}/on-changed
    - contents: a
    - watch:
      - cmd: trigger
f_on_quiet:
  file.managed:
    - name: {{ root }}/on-quiet
    - contents: b
    - watch:
      - cmd: quiet
d_on_boom:
  file.directory:
    - name: {{ root }}/never
    - watch:
      - cmd: boom
