anything:
  test.nop: []
