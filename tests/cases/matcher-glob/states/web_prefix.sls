web_prefix:
  test.nop: []
