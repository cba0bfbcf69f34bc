base:
  '*':
    - ternary
