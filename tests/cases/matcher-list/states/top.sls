base:
  'L@db01,web01.example.com':
    - list_compound
  'a.example.com,web01.example.com,b':
    - match: list
    - list_option
  'L@db01,db02':
    - not_in_list
  'web01.example.com, db01':
    - match: list
    - list_spaces
