pcre_no:
  test.nop: []
