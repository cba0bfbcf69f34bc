{#- Formulas written when osmajorrelease was a string: Python 3 refuses int >= str #}
{%- if grains['osmajorrelease'] >= '7' %}
new_release:
  test.nop
{%- endif %}
