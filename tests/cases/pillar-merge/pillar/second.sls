app:
  settings:
    b: 2
    c: 2
  list: [9]
scalar: second
