grain_missing:
  test.nop: []
