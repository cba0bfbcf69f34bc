{% set root = grains['scratch'] %}
a:
  file.managed:
    - name: {{ root }}/a
    - contents: a
b:
  file.directory:
    - name: {{ root }}
c:
  file.directory:
    - name: {{ root }}
any_changed:
  cmd.run:
    - name: echo any
    - onchanges_any:
      - file: a
      - file: b
none_changed:
  cmd.run:
    - name: echo none
    - onchanges_any:
      - file: b
      - file: c
list_onchanges:
  cmd.run:
    - name: echo list
    - onchanges:
      - file: a
      - file: b
