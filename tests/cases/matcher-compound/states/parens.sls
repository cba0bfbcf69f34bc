parens:
  test.nop: []
