{% set root = grains['scratch'] %}
conf:
  file.managed:
    - name: {{ root }}/conf
    - contents: test-mode
on_change:
  cmd.run:
    - name: echo changed >> {{ root }}/events.log
    - onchanges:
      - file: conf
watcher:
  cmd.wait:
    - name: echo watched >> {{ root }}/events.log
    - watch:
      - file: conf
pre:
  cmd.run:
    - name: echo pre >> {{ root }}/events.log
    - prereq:
      - file: conf
guarded:
  cmd.run:
    - name: echo guarded
    - unless: 'true'
