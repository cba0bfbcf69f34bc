web_vhosts:
  test.nop: []
