{% for param in [{'name': 'a'}] %}
  {% if param is maping %}
sysctl-present-{{ param.name }}:
  test.nop
  {% endif %}
{% endfor %}
