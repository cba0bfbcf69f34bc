app:
  test.nop:
    - version: {{ salt['pillar.get']('app:version', 'none') }}
    - debug: {{ pillar.get('debug', False) }}
