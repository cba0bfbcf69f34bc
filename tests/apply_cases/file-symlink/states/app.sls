{% set root = grains['scratch'] %}
new_link:
  file.symlink:
    - name: {{ root }}/links/current
    - target: {{ root }}/releases/1
    - makedirs: True
right_link:
  file.symlink:
    - name: {{ root }}/right
    - target: target.txt
wrong_link:
  file.symlink:
    - name: {{ root }}/wrong
    - target: {{ root }}/target.txt
forced:
  file.symlink:
    - name: {{ root }}/regular
    - target: {{ root }}/target.txt
    - force: True
