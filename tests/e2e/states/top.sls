base:
  '*':
    - app
  'roles:web':
    - match: grain
    - web
