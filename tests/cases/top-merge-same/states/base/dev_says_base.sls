dev_says_base_base:
  test.nop:
    - env: {{ saltenv }}
