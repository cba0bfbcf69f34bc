base:
  '*':
    - vars
    - apps.web
    - apps.web.tls
