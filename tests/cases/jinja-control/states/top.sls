base:
  '*':
    - loops
