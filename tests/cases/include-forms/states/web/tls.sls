include:
  - .certs
web_tls:
  test.nop: []
