nginx:
  pkg.installed:
    - version: 1.0
  service.running:
    - enable: True
    - watch:
      - file: /etc/nginx.conf
/etc/nginx.conf:
  file.managed:
    - source: salt://nginx.conf
    - mode: '0644'
