not_picked:
  test.nop: []
