base:
  '*':
    - missing
