base:
  '*':
    - present
    - missing_sls
