pcre_nested:
  test.nop: []
