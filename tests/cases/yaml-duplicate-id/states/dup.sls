nginx:
  pkg.installed: []
apache:
  pkg.installed: []
nginx:
  service.running: []
