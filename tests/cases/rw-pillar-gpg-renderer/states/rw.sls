app_db:
  test.nop:
    - user: {{ pillar['db']['user'] }}
    - password: {{ salt['pillar.get']('db:password') }}
    - api_key: {{ pillar['api_key'] }}
