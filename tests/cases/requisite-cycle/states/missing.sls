missing_target:
  test.nop:
    - require:
      - test: does_not_exist
    - watch:
      - sls: not_an_sls
