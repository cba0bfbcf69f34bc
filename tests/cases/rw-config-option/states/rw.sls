config_option:
  test.nop:
    - file_client: {{ salt['config.option']('file_client') }}
    - custom: {{ salt['config.option']('custom_option') | json }}
    - missing_default: {{ salt['config.option']('rw_missing_opt', 'dflt') }}
    - missing: {{ salt['config.option']('rw_missing_opt') | json }}
