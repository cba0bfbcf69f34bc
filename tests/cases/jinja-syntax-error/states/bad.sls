{% if grains['id'] %}
bad:
  test.nop: []
{% endfor %}
