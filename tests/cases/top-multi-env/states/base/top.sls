base:
  '*':
    - common
dev:
  '*':
    - app
    - app.debug
