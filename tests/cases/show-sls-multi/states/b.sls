state_b:
  test.nop:
    - sls: {{ sls }}
