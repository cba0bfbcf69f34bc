{% set root = grains['scratch'] %}
{% set greeting = salt['cmd.run']('echo hello from render') %}
{% set had_marker = salt['file.file_exists'](root ~ '/marker') %}
marker:
  file.managed:
    - name: {{ root }}/marker
    - contents: marker
report:
  file.managed:
    - name: {{ root }}/report.txt
    - contents: |
        greeting: {{ greeting }}
        marker existed at render: {{ had_marker }}
        id: {{ salt['grains.get']('id') }}
        missing pillar: {{ salt['pillar.get']('no:such:key', 'fallback') }}
