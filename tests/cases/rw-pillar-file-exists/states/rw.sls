pillar_file_exists:
  test.nop:
    - data: {{ salt['pillar.file_exists']('data.sls') }}
    - missing: {{ salt['pillar.file_exists']('missing.sls') }}
