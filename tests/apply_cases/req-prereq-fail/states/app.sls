{% set root = grains['scratch'] %}
failing_pre:
  cmd.run:
    - name: 'exit 5'
    - prereq:
      - file: guarded
guarded:
  file.managed:
    - name: {{ root }}/guarded
    - contents: guarded
pre_of_broken:
  cmd.run:
    - name: echo pre >> {{ root }}/pre.log
    - prereq:
      - file: broken_file
broken_file:
  file.managed:
    - name: {{ root }}/broken
    - source: salt://does/not/exist
