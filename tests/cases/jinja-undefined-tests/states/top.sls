base:
  '*':
    - plain
