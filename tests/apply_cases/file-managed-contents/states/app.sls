{% set root = grains['scratch'] %}
app_conf:
  file.managed:
    - name: {{ root }}/etc/app/app.conf
    - contents: |
        greeting = {{ pillar.get('greeting', 'hello') }}
        port = 8080
    - mode: '0640'
    - makedirs: True

plain:
  file.managed:
    - name: {{ root }}/plain.txt
    - contents: one line without newline
