x:
  test.nop:
    - state_top: {{ opts['state_top'] }}
    - state_top_config_get: {{ salt['config.get']('state_top') }}
    - jinja_trim_blocks: {{ opts['jinja_trim_blocks'] }}
    - jinja_lstrip_blocks: {{ opts['jinja_lstrip_blocks'] }}
    - has_trim_key: {{ 'jinja_trim_blocks' in opts }}
