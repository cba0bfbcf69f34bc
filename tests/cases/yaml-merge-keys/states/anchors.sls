# Anchors, aliases and merge keys: the base dict is merged, local keys win.
defaults: &defaults
  test.nop:
    - user: root
    - group: root

file_defaults:
  test.configurable_test_state:
    - changes: False
    - result: True
    - comment: &cmt shared comment
    - settings: &settings
        user: root
        mode: '0644'
        nested:
          a: 1
    - merged:
        <<: *settings
        mode: '0600'
        extra: yes
    - multi_merge:
        <<: [*settings, {owner: bob, extra: no}]
    - again: *cmt

