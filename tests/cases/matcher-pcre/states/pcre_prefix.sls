pcre_prefix:
  test.nop: []
