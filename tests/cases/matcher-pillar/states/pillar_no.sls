pillar_no:
  test.nop: []
