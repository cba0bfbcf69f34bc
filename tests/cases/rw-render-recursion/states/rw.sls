{%- if salt['state.sls_exists']('rw') %}
self_check:
  test.nop:
    - exists: true
{%- endif %}
