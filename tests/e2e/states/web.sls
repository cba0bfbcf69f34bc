web_index:
  file.managed:
    - name: {{ grains['scratch'] }}/www/index.html
    - source: salt://files/index.html
    - makedirs: True
    - mode: '0644'
