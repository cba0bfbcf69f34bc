no_match_parens:
  test.nop: []
