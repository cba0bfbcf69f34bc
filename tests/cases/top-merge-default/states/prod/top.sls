prod:
  '*':
    - prodapp
  'nomatch*':
    - never
