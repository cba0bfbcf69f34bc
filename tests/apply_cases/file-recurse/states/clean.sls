{% set root = grains['scratch'] %}
site:
  file.recurse:
    - name: {{ root }}/www
    - source: salt://site
    - clean: True
