base:
  '*':
    - anything
