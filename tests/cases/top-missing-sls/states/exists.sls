exists:
  test.nop: []
