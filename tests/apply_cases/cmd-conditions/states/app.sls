{% set root = grains['scratch'] %}
unless_true:
  cmd.run:
    - name: echo never
    - unless: 'true'
unless_false:
  cmd.run:
    - name: echo ran
    - unless: 'false'
onlyif_false:
  cmd.run:
    - name: echo never
    - onlyif: 'false'
onlyif_list:
  cmd.run:
    - name: echo ran
    - onlyif:
      - 'true'
      - test -d {{ root }}
creates_file:
  cmd.run:
    - name: touch {{ root }}/made
    - creates: {{ root }}/made
file_unless:
  file.managed:
    - name: {{ root }}/guarded.conf
    - contents: guarded
    - unless: test -e {{ root }}/made
file_onlyif:
  file.managed:
    - name: {{ root }}/onlyif.conf
    - contents: onlyif
    - onlyif: test -e {{ root }}/made
