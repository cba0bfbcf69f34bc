ng_web:
  test.nop: []
