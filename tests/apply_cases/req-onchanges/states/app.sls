{% set root = grains['scratch'] %}
conf:
  file.managed:
    - name: {{ root }}/conf
    - contents: hello
notify:
  cmd.run:
    - name: echo changed >> {{ root }}/notify.log
    - onchanges:
      - file: conf
static:
  file.directory:
    - name: {{ root }}
never:
  cmd.run:
    - name: echo never >> {{ root }}/never.log
    - onchanges:
      - file: static
