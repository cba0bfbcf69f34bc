base:
  '*':
    - all
  'web*':
    - web_prefix
  '*.example.com':
    - domain
  'web0[0-9].*':
    - char_class
  'web0?.example.com':
    - question
  'db*':
    - not_db
  'WEB01.example.com':
    - case_sensitive
  'web01.example.com':
    - exact
