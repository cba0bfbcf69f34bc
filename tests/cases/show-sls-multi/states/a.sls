state_a:
  test.nop:
    - sls: {{ sls }}
