nginx:
  pkg.installed:
    - version: '1.24'
  service.running:
    - enable: True
    - require:
      - pkg: nginx
/etc/motd:
  file.managed:
    - contents: |
        multi
        line
    - mode: 0644
    - ratio: 0.5
    - nothing: null
    - empty_list: []
    - empty_dict: {}
