{%- do salt["log.debug"]("rw: debug message " ~ {"a": [1, 2]} | yaml(False)) %}
{%- do salt['log.info']('rw: info message') %}
{%- set ret = salt['log.warning']('rw: warning message') %}
log_calls:
  test.nop:
    - ret_warning: {{ ret }}
    - ret_error: {{ salt['log.error']('rw: error message') }}
    - ret_attr: {{ salt.log.debug('rw: attribute-style call') }}
