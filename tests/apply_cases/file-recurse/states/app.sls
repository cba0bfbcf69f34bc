{% set root = grains['scratch'] %}
site:
  file.recurse:
    - name: {{ root }}/www
    - source: salt://site
    - file_mode: '0640'
    - dir_mode: '0750'
    - makedirs: True
extra:
  file.managed:
    - name: {{ root }}/www/extra.txt
    - contents: extra
