{% set root = grains['scratch'] %}
dirs:
  file.directory:
    - names:
      - {{ root }}/n1
      - {{ root }}/n2
      - {{ root }}/n3:
        - mode: '0700'
files:
  file.managed:
    - contents: same for all
    - names:
      - {{ root }}/n1/f
      - {{ root }}/n2/f
    - require:
      - file: dirs
