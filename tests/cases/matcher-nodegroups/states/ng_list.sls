ng_list:
  test.nop: []
