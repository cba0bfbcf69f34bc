{% set root = grains['scratch'] %}
first:
  file.managed:
    - name: {{ root }}/first
    - contents: '1'
