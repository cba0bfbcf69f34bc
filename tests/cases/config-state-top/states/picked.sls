picked:
  test.nop: []
