base:
  '*':
    - exists
    - missing_from_top
