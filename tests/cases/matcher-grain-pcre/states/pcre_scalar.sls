pcre_scalar:
  test.nop: []
