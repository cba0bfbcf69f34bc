pcre_partial:
  test.nop: []
