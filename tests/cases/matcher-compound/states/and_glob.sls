and_glob:
  test.nop: []
