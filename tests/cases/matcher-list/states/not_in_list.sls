not_in_list:
  test.nop: []
