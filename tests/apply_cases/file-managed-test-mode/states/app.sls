{% set root = grains['scratch'] %}
conf:
  file.managed:
    - name: {{ root }}/conf/a.conf
    - contents: value={{ pillar.get('v', '1') }}
    - makedirs: True
dir:
  file.directory:
    - name: {{ root }}/data
    - mode: '0750'
