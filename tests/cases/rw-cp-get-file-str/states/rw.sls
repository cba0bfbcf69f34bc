{%- set txt = salt['cp.get_file_str']('salt://data.txt') %}
file_str:
  test.nop:
    - text: {{ txt | json }}
    - lines: {{ txt.splitlines() | json }}
    - missing: {{ salt['cp.get_file_str']('salt://nope.txt') | json }}
