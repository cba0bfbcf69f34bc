pillar_pcre:
  test.nop: []
