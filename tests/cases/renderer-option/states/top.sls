base:
  '*':
    - conf
    - templated
