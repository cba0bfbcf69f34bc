base_packages:
  pkg.installed:
    - names:
      - vim
      - curl:
        - version: 8.0
      - git:
        - version: 2.40
        - refresh: True
    - refresh: False

dirs:
  file.directory:
    - user: root
    - names:
      - /srv/a
      - /srv/b:
        - user: www
    - require:
      - pkg: base_packages

bulk:
  pkg.installed:
    - pkgs:
      - nginx
      - redis: 7.0
      - postgresql: '>=15'
