{% set root = grains['scratch'] %}
soft_fail:
  cmd.run:
    - name: 'false'
before:
  file.managed:
    - name: {{ root }}/before
    - contents: before
hard_fail:
  cmd.run:
    - name: 'exit 4'
    - failhard: True
after:
  file.managed:
    - name: {{ root }}/after
    - contents: after
