{% set root = grains['scratch'] %}
conf:
  file.managed:
    - name: {{ root }}/conf
    - contents: in-forms
    - require_in:
      - cmd: after_conf
    - watch_in:
      - cmd: watcher
    - onchanges_in:
      - cmd: on_change
    - prereq_in:
      - cmd: before_conf
bad:
  cmd.run:
    - name: 'false'
    - onfail_in:
      - cmd: on_fail
after_conf:
  cmd.run:
    - name: echo after >> {{ root }}/events.log
watcher:
  cmd.wait:
    - name: echo watched >> {{ root }}/events.log
on_change:
  cmd.run:
    - name: echo changed >> {{ root }}/events.log
on_fail:
  cmd.run:
    - name: echo failed >> {{ root }}/events.log
before_conf:
  cmd.run:
    - name: echo before >> {{ root }}/events.log
