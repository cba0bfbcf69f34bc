{% set root = grains['scratch'] %}
differs:
  file.managed:
    - name: {{ root }}/differs.conf
    - contents: |
        a = 1
        b = 3
        c = 4
modeonly:
  file.managed:
    - name: {{ root }}/mode.conf
    - contents: same
    - mode: '0600'
noreplace:
  file.managed:
    - name: {{ root }}/keep.conf
    - contents: new
    - replace: False
