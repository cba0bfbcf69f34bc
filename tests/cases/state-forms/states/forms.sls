# Old list syntax, several states under one ID, a dotted key with no args,
# a 'name' override, and a state given as `state: [fun, args...]`.
vim:
  pkg:
    - installed

httpd:
  pkg.installed: []
  service:
    - running
    - enable: True
  file.managed:
    - name: /etc/httpd/httpd.conf
    - contents: x

python3-pip:
  pkg.latest

renamed:
  cmd.run:
    - name: echo hello
    - cwd: /tmp
    - unless: test -f /tmp/x
    - onlyif:
      - true
    - env:
      - LANG: C
