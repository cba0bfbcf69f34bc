grain_option:
  test.nop: []
