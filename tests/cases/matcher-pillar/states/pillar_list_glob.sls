pillar_list_glob:
  test.nop: []
