base:
  'G@roles:web and web*':
    - and_glob
  'G@roles:db or L@web01.example.com':
    - or_list
  'web* and not G@env:dev':
    - and_not
  '( G@roles:db or G@roles:web ) and E@.*example':
    - parens
  'not G@roles:web':
    - not_web
  'G@roles:monitoring and ( G@env:stage or G@env:dev )':
    - no_match_parens
  'web01.example.com and G@cpus:4':
    - match: compound
    - compound_option
