include:
  - common
  - .tls
  - web.vhosts
  - ..shared.base
web_service:
  test.nop:
    - require:
      - sls: common
