base:
  '*':
    - uni
