all:
  test.nop: []
