include:
  - dev: tools
  - local
main:
  test.nop:
    - require:
      - sls: tools
