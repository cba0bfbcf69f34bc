app:
  settings:
    a: 1
    b: 1
  list: [1, 2, 3]
  only_first: x
scalar: first
