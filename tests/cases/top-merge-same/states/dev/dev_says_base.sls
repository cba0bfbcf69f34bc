dev_says_base_dev:
  test.nop:
    - env: {{ saltenv }}
