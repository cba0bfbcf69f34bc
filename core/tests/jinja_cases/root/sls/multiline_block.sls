f:
  file.managed:
    - contents: |
        {{ pillar.multiline|indent(8) }}
