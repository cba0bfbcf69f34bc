nginx:
  pkg.installed:
    - name: nginx
   - version: 1.2
  service.running: []
