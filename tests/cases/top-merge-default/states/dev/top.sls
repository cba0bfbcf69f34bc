dev:
  '*':
    - devapp
base:
  'minion':
    - dev_says_base
