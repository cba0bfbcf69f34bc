{% set root = grains['scratch'] %}
template_state:
  file.managed:
    - name: {{ root }}/one/base.conf
    - contents: shared
    - mode: '0600'
    - makedirs: True
user1:
  file.managed:
    - name: {{ root }}/two/user1.conf
    - use:
      - file: template_state
user2:
  file.managed:
    - name: {{ root }}/three/user2.conf
    - contents: own
    - use:
      - file: template_state
user3:
  file.managed:
    - name: {{ root }}/four/user3.conf
template_in:
  file.managed:
    - name: {{ root }}/five/base.conf
    - contents: from-use-in
    - mode: '0640'
    - makedirs: True
    - use_in:
      - file: user3
