list_option:
  test.nop: []
