lib_a1:
  test.nop: []
lib_a2:
  test.nop: []
