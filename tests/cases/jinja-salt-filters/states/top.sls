base:
  '*':
    - salty
