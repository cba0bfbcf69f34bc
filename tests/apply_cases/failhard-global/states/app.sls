{% set root = grains['scratch'] %}
first:
  file.managed:
    - name: {{ root }}/first
    - contents: first
boom:
  cmd.run:
    - name: 'false'
second:
  file.managed:
    - name: {{ root }}/second
    - contents: second
