{% if salt['cmd.has_exec']('sh') %}
has_sh:
  test.nop:
    - has_exec_missing: {{ salt['cmd.has_exec']('rw-no-such-program-xyz') }}
    - which_missing: {{ salt['cmd.which']('rw-no-such-program-xyz') | json }}
    - which_abs: {{ salt['cmd.which']('/bin/sh') }}
{% endif %}
