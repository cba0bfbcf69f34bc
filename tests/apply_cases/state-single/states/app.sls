{% set root = grains['scratch'] %}
x:
  file.managed:
    - name: {{ root }}/x
    - contents: x
