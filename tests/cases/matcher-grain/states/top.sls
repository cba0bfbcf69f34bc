base:
  'G@roles:web':
    - grain_list_member
  'roles:db':
    - match: grain
    - grain_no
  'env:prod':
    - match: grain
    - grain_option
  'G@deploy:region:eu-west':
    - grain_nested
  'G@deploy:zone:eu-*':
    - grain_glob
  'G@cpus:4':
    - grain_int
  'G@missing:thing':
    - grain_missing
  'G@env:PROD':
    - grain_case
