tools:
  test.nop:
    - env: {{ saltenv }}
