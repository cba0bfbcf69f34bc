base:
  '*':
    - first
    - second
  'minion':
    - third
