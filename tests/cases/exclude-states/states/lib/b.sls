lib_b:
  test.nop: []
