grain_int:
  test.nop: []
