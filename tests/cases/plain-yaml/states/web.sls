nginx:
  pkg.installed:
    - version: 1.24.0
  service.running:
    - enable: True
    - require:
      - pkg: nginx
