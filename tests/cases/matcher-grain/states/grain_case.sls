grain_case:
  test.nop: []
