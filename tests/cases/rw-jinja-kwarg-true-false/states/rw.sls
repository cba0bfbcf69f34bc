{%- set d = dict(true='yes', false='no', none='nil') %}
x:
  test.nop:
    - keys: {{ d | dictsort | json }}
    - boolstr: {{ salt['slsutil.boolstr'](False, true='on', false='off') }}
