pillar_role:
  test.nop: []
