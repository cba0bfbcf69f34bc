include:
  - does.not.exist
app:
  test.nop: []
