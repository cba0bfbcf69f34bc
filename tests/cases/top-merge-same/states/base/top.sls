base:
  '*':
    - common
dev:
  '*':
    - base_says_dev
