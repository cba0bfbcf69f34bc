pkg_a:
  pkg.installed:
    - name: a
conf_a:
  file.managed:
    - name: /etc/a.conf
    - require:
      - pkg: pkg_a
svc_a:
  service.running:
    - name: a
    - watch:
      - file: conf_a
    - require:
      - pkg: a
notify:
  cmd.run:
    - name: echo changed
    - onchanges:
      - file: /etc/a.conf
rollback:
  cmd.run:
    - onfail:
      - service: svc_a
pre_stop:
  service.dead:
    - name: a
    - prereq:
      - file: conf_a
clone:
  file.managed:
    - name: /etc/clone.conf
    - use:
      - file: conf_a
listener:
  cmd.run:
    - name: echo heard
    - listen:
      - file: conf_a
any_req:
  test.nop:
    - require_any:
      - pkg: pkg_a
      - file: conf_a
    - watch_any:
      - service: svc_a
    - onchanges_any:
      - file: conf_a
      - cmd: notify
    - onfail_any:
      - cmd: rollback
sls_req:
  test.nop:
    - require:
      - sls: reqs
id_only:
  test.nop:
    - require:
      - pkg_a
      - conf_a
glob_req:
  test.nop:
    - require:
      - file: /etc/*
      - test: any_*
