base:
  '*':
    - ssl
