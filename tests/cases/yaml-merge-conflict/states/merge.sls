# Salt's YAML loader reports a key that appears in two merged maps as a
# "conflicting ID", unlike plain PyYAML which lets the first one win.
settings: &settings
  test.nop:
    - a: 1

other:
  test.nop:
    - merged:
        <<: [{user: root, mode: 1}, {owner: bob, user: alice}]
