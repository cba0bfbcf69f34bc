{% set root = grains['scratch'] %}
plain:
  cmd.script:
    - source: salt://scripts/hello.sh
    - name: hello.sh world
    - cwd: {{ root }}
templated:
  cmd.script:
    - source: salt://scripts/tpl.sh
    - name: tpl-run
    - template: jinja
    - context:
        who: templated
guarded:
  cmd.script:
    - source: salt://scripts/hello.sh
    - name: hello.sh guarded
    - cwd: {{ root }}
    - creates: {{ root }}/ran.out
