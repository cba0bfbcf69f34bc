environ:
  test.nop:
    - unset: {{ salt['environ.get']('RW_SURELY_UNSET_VAR', 'fallback') }}
    - unset_nodefault: {{ salt['environ.get']('RW_SURELY_UNSET_VAR') | json }}
    - path_is_string: {{ salt['environ.get']('PATH') is string }}
