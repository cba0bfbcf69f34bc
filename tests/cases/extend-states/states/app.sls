include:
  - base_pkgs
extend:
  nginx:
    pkg:
      - version: 2.0
    service:
      - watch:
        - file: /etc/app.conf
      - reload: True
  /etc/nginx.conf:
    file:
      - source: salt://app/nginx.conf
      - user: www
/etc/app.conf:
  file.managed:
    - contents: app
