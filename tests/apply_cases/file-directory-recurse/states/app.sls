{% set root = grains['scratch'] %}
tree_modes:
  file.directory:
    - name: {{ root }}/tree
    - dir_mode: '0750'
    - file_mode: '0640'
    - recurse:
      - mode
no_create:
  file.managed:
    - name: {{ root }}/absent.conf
    - contents: x
    - create: False
with_dir_mode:
  file.managed:
    - name: {{ root }}/made/by/dirmode/f.conf
    - contents: f
    - makedirs: True
    - dir_mode: '0711'
