grain_nested:
  test.nop: []
