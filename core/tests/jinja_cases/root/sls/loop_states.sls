{% for name, u in pillar.users|dictsort %}
{{ name }}:
  user.present:
    - uid: {{ u.uid }}
    - groups: {{ u.groups }}
{% endfor %}
