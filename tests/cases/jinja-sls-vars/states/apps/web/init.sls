vars_apps_web_init_sls:
  test.nop:
    - sls: {{ sls }}
    - slspath: '{{ slspath }}'
    - sls_path: '{{ sls_path }}'
    - slsdotpath: '{{ slsdotpath }}'
    - slscolonpath: '{{ slscolonpath }}'
    - tpldir: '{{ tpldir }}'
    - tpldot: '{{ tpldot }}'
    - tplpath_is_abs: {{ tplpath.startswith('/') }}
    - tplfile: {{ tplfile }}
    - saltenv: {{ saltenv }}
