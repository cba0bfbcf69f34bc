{% set root = grains['scratch'] %}
key:
  file.managed:
    - name: {{ root }}/ssl/key.pem
    - contents_pillar: ssl:key
    - mode: '0600'
    - makedirs: True
lines:
  file.managed:
    - name: {{ root }}/lines.txt
    - contents:
      - first
      - second
