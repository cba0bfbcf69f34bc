{% set root = grains['scratch'] %}
app_conf:
  file.managed:
    - name: {{ root }}/etc/app.conf
    - source: salt://templates/app.conf.j2
    - template: jinja
    - makedirs: True
    - defaults:
        workers: 2
        user: nobody
    - context:
        workers: 8
        names: [alpha, beta]
