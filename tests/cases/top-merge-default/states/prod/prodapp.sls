prodapp_prod:
  test.nop:
    - env: {{ saltenv }}
