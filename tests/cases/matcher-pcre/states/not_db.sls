not_db:
  test.nop: []
