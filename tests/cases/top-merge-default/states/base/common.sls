common_base:
  test.nop:
    - env: {{ saltenv }}
