or_list:
  test.nop: []
