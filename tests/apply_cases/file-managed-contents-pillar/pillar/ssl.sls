ssl:
  key: |
    -----BEGIN KEY-----
    abcdef
    -----END KEY-----
