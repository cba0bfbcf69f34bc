base:
  '*':
    - role
