base:
  'I@role:db':
    - pillar_role
  'cluster:name:alpha':
    - match: pillar
    - pillar_nested
  'I@cluster:members:db0*':
    - pillar_list_glob
  'I@role:web':
    - pillar_no
  'J@role:^d.$':
    - pillar_pcre
