base:
  '*':
    - common
  'm1':
    - m1
  'm2':
    - m2
  'm3':
    - m3
