# An alias shares the Python object: Salt adds the auto 'order' to the shared
# list once, so both IDs get the same order (10000) and the alias sorts first.
defaults: &defaults
  test.nop:
    - user: root
    - group: root

other:
  test.nop: []

copy_of_defaults: *defaults
