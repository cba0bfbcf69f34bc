x:
  test.nop:
    - int_eq_str: {{ 12 == '12' }}
    - int_lt_float: {{ 1 < 1.5 }}
    - bool_lt_int: {{ true < 2 }}
    - str_lt_str: {{ 'a' < 'b' }}
    - list_lt_list: {{ [1, 2] < [1, 3] }}
    - tuple_cmp: {{ grains['saltversioninfo'] >= [2018, 3, 1] }}
