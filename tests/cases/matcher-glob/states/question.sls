question:
  test.nop: []
