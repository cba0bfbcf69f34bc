vim:
  pkg.installed: []

/etc/motd:
  file.managed:
    - contents: Welcome
    - user: root
    - group: root
    - mode: '0644'
