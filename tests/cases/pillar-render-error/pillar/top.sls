base:
  '*':
    - broken
    - fine
