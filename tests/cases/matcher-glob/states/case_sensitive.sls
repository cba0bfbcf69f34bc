case_sensitive:
  test.nop: []
