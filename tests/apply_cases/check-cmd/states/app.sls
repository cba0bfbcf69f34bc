{% set root = grains['scratch'] %}
good:
  file.managed:
    - name: {{ root }}/good.conf
    - contents: ok
    - check_cmd: 'true'
bad:
  file.managed:
    - name: {{ root }}/bad.conf
    - contents: not-ok
    - check_cmd: 'false'
run_checked:
  cmd.run:
    - name: echo checked
    - check_cmd:
      - test -d {{ root }}
