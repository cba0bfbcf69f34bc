{% import 'macros.jinja' as m %}
{% from 'macros.jinja' import service %}
{% macro local_file(path, text='default') -%}
{{ path }}:
  file.managed:
    - contents: {{ text }}
{%- endmacro %}

{{ m.pkg('nginx') }}
{{ service('nginx', reload=True) }}
{{ service('cron', enabled=False) }}
{{ local_file('/etc/app.conf') }}
{{ local_file('/etc/other.conf', text='custom') }}
{% call m.pkg('curl') %}    - refresh: True{% endcall %}
