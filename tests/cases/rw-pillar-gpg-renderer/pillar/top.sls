base:
  '*':
    - secrets
    - jinja_secrets
