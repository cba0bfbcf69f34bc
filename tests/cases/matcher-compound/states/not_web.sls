not_web:
  test.nop: []
