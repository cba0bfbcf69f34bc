compound_option:
  test.nop: []
