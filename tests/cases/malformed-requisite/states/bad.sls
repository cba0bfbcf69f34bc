web:
  pkg.installed: []
svc:
  service.running:
    - require: pkg
