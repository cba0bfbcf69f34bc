{% set hosts = ['a', 'b'] %}
/etc/hosts.conf:
  file.managed:
    - contents: |
        # header
        {% for h in hosts %}
          {% if h %}
        host {{ h }}
          {% endif %}
        {% endfor %}
        # footer
