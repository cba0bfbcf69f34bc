{% if false %}
a: 1
{% endif %}
