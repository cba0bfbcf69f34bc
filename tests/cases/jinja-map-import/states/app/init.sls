{% from 'app/map.jinja' import app, minion_name with context %}
{% from tpldir ~ '/map.jinja' import defaults %}
{{ app.package }}:
  pkg.installed: []

{{ app.service }}:
  service.running:
    - port: {{ app.port }}
    - config: {{ app.config }}
    - minion: {{ minion_name }}
    - default_port: {{ defaults.port }}
