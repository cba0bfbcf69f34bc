and_not:
  test.nop: []
