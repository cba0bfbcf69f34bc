{% set root = grains['scratch'] %}
flaky:
  cmd.run:
    - name: 'echo x >> {{ root }}/count; test $(wc -l < {{ root }}/count) -ge 3'
    - retry:
        attempts: 5
        interval: 0
never:
  cmd.run:
    - name: 'false'
    - retry:
        attempts: 2
        interval: 0
