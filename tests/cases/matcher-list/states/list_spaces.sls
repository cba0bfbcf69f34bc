list_spaces:
  test.nop: []
