#!yaml
plain:
  test.nop:
    - name: '{{ not_rendered }}'
