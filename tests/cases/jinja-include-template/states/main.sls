{% set name = 'first' %}
{% include 'snippets/common.jinja' %}
{% with name = 'second' %}
{% include 'snippets/common.jinja' %}
{% endwith %}
{% include 'snippets/missing.jinja' ignore missing %}
main_state:
  test.nop: []
