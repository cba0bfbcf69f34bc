exact:
  test.nop: []
