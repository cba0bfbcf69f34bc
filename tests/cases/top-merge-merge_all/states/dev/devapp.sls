devapp_dev:
  test.nop:
    - env: {{ saltenv }}
