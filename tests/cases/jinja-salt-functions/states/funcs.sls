funcs:
  test.nop:
    - pillar_get: {{ salt['pillar.get']('app:db:host', 'localhost') }}
    - pillar_get_default: {{ salt['pillar.get']('app:db:missing', 'dflt') }}
    - pillar_get_dict: {{ salt['pillar.get']('app:db') | json }}
    - pillar_index: {{ pillar['app']['name'] }}
    - pillar_dot_get: {{ pillar.get('app', {}).get('name') }}
    - grains_id: {{ grains['id'] }}
    - grains_get: {{ salt['grains.get']('roles') }}
    - grains_get_nested: {{ salt['grains.get']('deploy:region', 'none') }}
    - grains_dot: {{ grains.get('deploy', {}).get('tier') }}
    - config_get: {{ salt['config.get']('app:name', 'no') }}
    - opts_id: {{ opts['id'] }}
    - saltenv: {{ saltenv }}
    - test_true: {{ salt['test.true']() }}
    - in_list: {{ 'web' in grains['roles'] }}
    - pillar_items_keys: {{ pillar.keys() | list | sort }}
