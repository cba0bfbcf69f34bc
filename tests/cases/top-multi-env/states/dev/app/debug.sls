app_debug:
  test.nop: []
