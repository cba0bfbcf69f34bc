slsutil_misc:
  test.nop:
    - rendered: {{ salt['slsutil.renderer'](string='a: {{ 1 + 1 }}\nb: [x]', default_renderer='jinja|yaml') | json }}
    - rendered_yaml: {{ salt['slsutil.renderer'](string='k: v', default_renderer='yaml') | json }}
    - boolstr_true: {{ salt['slsutil.boolstr'](True) }}
    - boolstr_custom: {{ salt['slsutil.boolstr'](False, 'yes', 'no') }}
    - file_exists: {{ salt['slsutil.file_exists']('exists.yaml') }}
    - file_missing: {{ salt['slsutil.file_exists']('missing.yaml') }}
    - path_exists: {{ salt['slsutil.path_exists']('exists.yaml') }}
    - update: {{ salt['slsutil.update']({'a': {'x': 1}}, {'a': {'y': 2}}) | json }}
