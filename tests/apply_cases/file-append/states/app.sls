{% set root = grains['scratch'] %}
hosts:
  file.append:
    - name: {{ root }}/hosts
    - text:
      - 10.0.0.1 alpha
      - 10.0.0.2 beta
single:
  file.append:
    - name: {{ root }}/hosts
    - text: 127.0.0.1 localhost
newfile:
  file.append:
    - name: {{ root }}/new/notes.txt
    - text: first note
    - makedirs: True
