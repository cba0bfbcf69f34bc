{%- set name = 'rw-no-such-user-xyz' %}
{%- set current = salt.user.info(name) %}
{%- set home = current.get('home', "/home/%s" % name) %}
users_{{ name }}_user:
  user.present:
    - name: {{ name }}
    - home: {{ home }}
    - shell: {{ current.get('shell', '/bin/bash') }}
    - info: {{ current | json }}
    - info2: {{ salt['user.info'](name) | json }}
