{% set root = grains['scratch'] %}
replace_line:
  file.line:
    - name: {{ root }}/sshd_config
    - mode: replace
    - match: '^PermitRootLogin'
    - content: 'PermitRootLogin no'
insert_after:
  file.line:
    - name: {{ root }}/sshd_config
    - mode: insert
    - after: '^Port 22'
    - content: 'AddressFamily inet'
delete_line:
  file.line:
    - name: {{ root }}/sshd_config
    - mode: delete
    - match: '^UseDNS'
ensure_after:
  file.line:
    - name: {{ root }}/sshd_config
    - mode: ensure
    - after: '^PasswordAuthentication'
    - content: 'X11Forwarding no'
