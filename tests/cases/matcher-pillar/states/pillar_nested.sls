pillar_nested:
  test.nop: []
