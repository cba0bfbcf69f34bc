pcre_option:
  test.nop: []
