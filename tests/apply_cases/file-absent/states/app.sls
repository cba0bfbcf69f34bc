{% set root = grains['scratch'] %}
rm_file:
  file.absent:
    - name: {{ root }}/old.conf
rm_dir:
  file.absent:
    - name: {{ root }}/olddir
rm_link:
  file.absent:
    - name: {{ root }}/link
rm_missing:
  file.absent:
    - name: {{ root }}/never-there
