{% set root = grains['scratch'] %}
retcode_ok:
  cmd.run:
    - name: 'exit 42'
    - success_retcodes: [42]
stateful_nochange:
  cmd.run:
    - name: "echo; echo \"changed=no comment='nothing to do'\""
    - stateful: True
stateful_change:
  cmd.run:
    - name: "echo first line; echo \"changed=yes comment='did it' extra=1\""
unparsable:
  cmd.run:
    - name: "echo changed=no comment=has spaces"
    - stateful: True
    - stateful: True
hidden:
  cmd.run:
    - name: echo secret
    - hide_output: True
creates_list:
  cmd.run:
    - name: touch {{ root }}/c1 {{ root }}/c2
    - creates:
      - {{ root }}/c1
      - {{ root }}/c2
onlyif_fun:
  cmd.run:
    - name: echo exists
    - onlyif:
      - fun: file.directory_exists
        path: {{ root }}
unless_fun:
  cmd.run:
    - name: echo never
    - unless:
      - fun: file.directory_exists
        path: {{ root }}
bad_cwd:
  cmd.run:
    - name: echo x
    - cwd: {{ root }}/does/not/exist
