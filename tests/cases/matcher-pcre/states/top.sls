base:
  'E@web\d+\.example\.com':
    - pcre_prefix
  'E@^db':
    - not_db
  'web\d+':
    - match: pcre
    - pcre_option
  'example':
    - match: pcre
    - pcre_partial
  'E@.*\.com$':
    - pcre_anchor
