sdb:
  test.nop:
    - uri: {{ salt['sdb.get']('sdb://noprofile/key') }}
    - plain: {{ salt['sdb.get']('plain-secret') }}
