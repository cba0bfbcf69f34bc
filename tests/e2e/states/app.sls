{# Written by the e2e test: every minion gets app.conf (a salt:// Jinja
   template filled from grains and its own pillar) and motd (pillar only). #}
{% set scratch = grains['scratch'] %}
app_conf:
  file.managed:
    - name: {{ scratch }}/app.conf
    - source: salt://files/app.conf.j2
    - template: jinja
    - makedirs: True

motd:
  file.managed:
    - name: {{ scratch }}/motd
    - contents: {{ pillar['motd'] | yaml_dquote }}
    - require:
      - file: app_conf
