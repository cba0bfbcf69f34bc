{% set root = grains['scratch'] %}
deep:
  file.directory:
    - name: {{ root }}/a/b/c
    - makedirs: True
    - mode: '0700'
conf_dir:
  file.directory:
    - name: {{ root }}/conf.d
    - clean: True
    - require:
      - file: keep_me
keep_me:
  file.managed:
    - name: {{ root }}/conf.d/keep.conf
    - contents: keep
existing:
  file.directory:
    - name: {{ root }}/existing
