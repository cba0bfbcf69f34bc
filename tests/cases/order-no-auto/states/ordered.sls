third:
  test.nop:
    - order: 3
last_one:
  test.nop:
    - order: last
first_one:
  test.nop:
    - order: first
unordered_a:
  test.nop: []
one:
  test.nop:
    - order: 1
big:
  test.nop:
    - order: 20000
unordered_b:
  test.nop: []
string_order:
  test.nop:
    - order: '5'
