include:
  - common
web_certs:
  test.nop: []
