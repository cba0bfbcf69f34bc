{% set root = grains['scratch'] %}
alpha:
  file.managed:
    - name: {{ root }}/alpha
    - contents: alpha
    - require:
      - file: beta
beta:
  file.managed:
    - name: {{ root }}/beta
    - contents: beta
    - require:
      - file: alpha
gamma:
  file.managed:
    - name: {{ root }}/gamma
    - contents: gamma
