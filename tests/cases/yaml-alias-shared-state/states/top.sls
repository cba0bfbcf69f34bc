base:
  '*':
    - alias
