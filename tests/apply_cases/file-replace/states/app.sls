{% set root = grains['scratch'] %}
port:
  file.replace:
    - name: {{ root }}/app.conf
    - pattern: '^port\s*=\s*(\d+)$'
    - repl: 'port = 9090 # was \1'
listen_once:
  file.replace:
    - name: {{ root }}/app.conf
    - pattern: 'localhost'
    - repl: '0.0.0.0'
    - count: 1
nomatch:
  file.replace:
    - name: {{ root }}/app.conf
    - pattern: 'does-not-occur'
    - repl: 'x'
appended:
  file.replace:
    - name: {{ root }}/app.conf
    - pattern: '^debug = .*$'
    - repl: 'debug = false'
    - append_if_not_found: True
