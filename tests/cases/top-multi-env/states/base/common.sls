common_base:
  test.nop:
    - where: {{ saltenv }}
