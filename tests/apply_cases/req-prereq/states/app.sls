{% set root = grains['scratch'] %}
stop_before:
  cmd.run:
    - name: echo stopping >> {{ root }}/events.log
    - prereq:
      - file: deploy
deploy:
  file.managed:
    - name: {{ root }}/app.bin
    - contents: build-1
unrelated_prereq:
  cmd.run:
    - name: echo never >> {{ root }}/never.log
    - prereq:
      - file: static
static:
  file.directory:
    - name: {{ root }}
