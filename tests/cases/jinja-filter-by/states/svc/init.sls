{% from tpldir ~ '/map.jinja' import svc, by_role, missing with context %}
service:
  test.nop:
    - svc: {{ svc | json }}
    - by_role: {{ by_role | json }}
    - missing: {{ missing | json }}
