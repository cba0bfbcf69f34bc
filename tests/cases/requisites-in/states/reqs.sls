nginx:
  pkg.installed:
    - require_in:
      - service: nginx_svc
    - watch_in:
      - service: nginx_svc
  file.managed:
    - name: /etc/nginx/nginx.conf
    - onchanges_in:
      - cmd: reload
    - onfail_in:
      - cmd: alert
    - listen_in:
      - service: nginx_svc
    - prereq_in:
      - cmd: backup
nginx_svc:
  service.running:
    - name: nginx
    - use_in:
      - service: other_svc
other_svc:
  service.running:
    - name: other
reload:
  cmd.run:
    - name: nginx -s reload
alert:
  cmd.run:
    - name: echo alert
backup:
  cmd.run:
    - name: echo backup
    - require_in:
      - sls: reqs
