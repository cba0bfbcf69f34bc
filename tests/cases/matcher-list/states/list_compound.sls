list_compound:
  test.nop: []
