base:
  '*':
    - not_picked
