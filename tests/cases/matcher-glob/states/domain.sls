domain:
  test.nop: []
