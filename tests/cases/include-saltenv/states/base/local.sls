local:
  test.nop: []
