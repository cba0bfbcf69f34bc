{% set root = grains['scratch'] %}
conf:
  file.managed:
    - name: {{ root }}/app.conf
    - contents: |
        value = {{ pillar.get('v', '1') }}
        other = x
dir:
  file.directory:
    - name: {{ root }}/data/sub
    - makedirs: True
hello:
  cmd.run:
    - name: echo hello
    - onchanges:
      - file: conf
broken:
  cmd.run:
    - name: 'exit 3'
needs_broken:
  file.managed:
    - name: {{ root }}/never
    - contents: never
    - require:
      - cmd: broken
