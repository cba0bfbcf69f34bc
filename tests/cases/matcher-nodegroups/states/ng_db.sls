ng_db:
  test.nop: []
