extend:
  not_defined_anywhere:
    test:
      - foo: bar
app:
  test.nop: []
