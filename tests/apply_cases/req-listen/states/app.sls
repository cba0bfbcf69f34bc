{% set root = grains['scratch'] %}
conf:
  file.managed:
    - name: {{ root }}/conf
    - contents: listen
    - listen_in:
      - cmd: reload_in
restart:
  cmd.run:
    - name: echo restart >> {{ root }}/events.log
    - listen:
      - file: conf
reload_in:
  cmd.run:
    - name: echo reload >> {{ root }}/events.log
last:
  file.managed:
    - name: {{ root }}/last
    - contents: last
