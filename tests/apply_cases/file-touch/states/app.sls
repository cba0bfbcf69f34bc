{% set root = grains['scratch'] %}
new:
  file.touch:
    - name: {{ root }}/run/app.pid
    - makedirs: True
old:
  file.touch:
    - name: {{ root }}/old.txt
