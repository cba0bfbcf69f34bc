include:
  - lib.a
  - lib.b
exclude:
  - id: lib_a2
  - sls: lib.b
app:
  test.nop: []
