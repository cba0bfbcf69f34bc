base:
  'P@roles:w.b':
    - pcre_list_member
  'P@env:pr[a-z]+':
    - pcre_scalar
  'deploy:region:eu-.*':
    - match: grain_pcre
    - pcre_nested
  'P@roles:^db':
    - pcre_no
