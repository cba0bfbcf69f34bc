x:
  test.nop:
    - half: {{ 2 ** -1 }}
    - quarter: {{ 2.0 ** -2 }}
    - neg_base: {{ (-8) ** 2 }}
    - big: {{ 2 ** 70 }}
