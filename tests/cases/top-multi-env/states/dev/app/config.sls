app_config:
  test.nop: []
