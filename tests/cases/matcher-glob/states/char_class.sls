char_class:
  test.nop: []
