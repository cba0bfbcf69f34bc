include:
  - .config
app_dev:
  test.nop:
    - where: {{ saltenv }}
    - sls: {{ sls }}
