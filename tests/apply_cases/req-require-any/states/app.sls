bad1:
  cmd.run:
    - name: 'false'
bad2:
  cmd.run:
    - name: 'exit 2'
good:
  cmd.run:
    - name: 'true'
one_ok:
  cmd.run:
    - name: echo one-ok
    - require_any:
      - cmd: bad1
      - cmd: good
none_ok:
  cmd.run:
    - name: echo none-ok
    - require_any:
      - cmd: bad1
      - cmd: bad2
