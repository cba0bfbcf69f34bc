state_c:
  test.nop:
    - sls: {{ sls }}
