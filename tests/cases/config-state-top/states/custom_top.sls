base:
  '*':
    - picked
