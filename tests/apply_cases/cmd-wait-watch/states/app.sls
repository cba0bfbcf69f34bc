{% set root = grains['scratch'] %}
conf:
  file.managed:
    - name: {{ root }}/app.conf
    - contents: v={{ pillar.get('v', 1) }}
reload:
  cmd.wait:
    - name: echo reloaded >> {{ root }}/reloads.log
    - watch:
      - file: conf
restart:
  cmd.run:
    - name: echo restarted
    - watch:
      - file: conf
