pcre_anchor:
  test.nop: []
