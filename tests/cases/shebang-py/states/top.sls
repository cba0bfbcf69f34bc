base:
  '*':
    - pyrender
