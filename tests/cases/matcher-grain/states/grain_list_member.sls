grain_list_member:
  test.nop: []
