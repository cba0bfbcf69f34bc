base:
  '*':
    - real
