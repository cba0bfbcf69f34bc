t:
  test.nop:
    - a: yes
    - b: 0o17
    - c: 010
    - d: 1_000
    - e: 2024-01-01
    - f: ~
    - g: 1.5e3
    - h: '{{ pillar.quote }}'
    - i: {{ pillar.unicode }}
