grain_no:
  test.nop: []
