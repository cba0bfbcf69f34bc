base:
  '*':
    - rw
