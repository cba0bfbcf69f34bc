pkg-b:
  pkg.installed: []

job-first-key-requisite:
  file.managed:
    - name: /etc/logrotate.d/bad
    - require:
        - pkg: pkg-b
      mode: 644
