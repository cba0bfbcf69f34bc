base:
  '*':
    - a
dev:
  '*':
    - b
    - a
