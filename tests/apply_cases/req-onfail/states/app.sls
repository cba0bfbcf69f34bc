{% set root = grains['scratch'] %}
bad:
  cmd.run:
    - name: 'exit 1'
good:
  cmd.run:
    - name: 'true'
recover:
  cmd.run:
    - name: echo recovering > {{ root }}/recovered
    - onfail:
      - cmd: bad
not_needed:
  cmd.run:
    - name: echo never > {{ root }}/never
    - onfail:
      - cmd: good
