bad:
  cmd.run:
    - name: 'false'
good:
  cmd.run:
    - name: 'true'
onfail_plain:
  cmd.run:
    - name: echo plain
    - onfail:
      - cmd: bad
      - cmd: good
onfail_any:
  cmd.run:
    - name: echo any
    - onfail_any:
      - cmd: bad
      - cmd: good
onfail_all:
  cmd.run:
    - name: echo all
    - onfail_all:
      - cmd: bad
      - cmd: good
onfail_all_failed:
  cmd.run:
    - name: echo all-failed
    - onfail_all:
      - cmd: bad
