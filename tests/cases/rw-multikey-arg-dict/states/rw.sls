pkg-a:
  pkg.installed: []

job-mapping:
  file.managed:
    - name: /etc/logrotate.d/mysql
    - template: jinja
    - context:
      path: /var/log/mysql/*.log
      data:
        - weekly
        - rotate 52
    - mode: 644

job-second-key-requisite:
  file.managed:
    - name: /etc/logrotate.d/other
    - user: root
      require:
        - pkg: pkg-a
