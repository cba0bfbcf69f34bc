x:
  test.nop:
    - v: {{ [1, 2][5] | tojson }}
