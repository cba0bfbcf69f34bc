base_says_dev_dev:
  test.nop:
    - env: {{ saltenv }}
