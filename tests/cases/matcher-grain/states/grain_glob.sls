grain_glob:
  test.nop: []
