{% set root = grains['scratch'] %}
copy_new:
  file.copy:
    - name: {{ root }}/backup/orig.conf
    - source: {{ root }}/orig.conf
    - makedirs: True
copy_keep:
  file.copy:
    - name: {{ root }}/dest-keep.conf
    - source: {{ root }}/orig.conf
copy_force:
  file.copy:
    - name: {{ root }}/dest-force.conf
    - source: {{ root }}/orig.conf
    - force: True
