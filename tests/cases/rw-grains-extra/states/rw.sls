grains_extra:
  test.nop:
    - has_region: {{ salt['grains.has_value']('deploy:region') }}
    - has_empty: {{ salt['grains.has_value']('deploy:empty') }}
    - has_flag: {{ salt['grains.has_value']('flag') }}
    - has_missing: {{ salt['grains.has_value']('nope') }}
    - get_delim: {{ salt['grains.get']('deploy/region', delimiter='/') }}
