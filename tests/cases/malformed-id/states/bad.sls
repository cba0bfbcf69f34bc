just_a_string: hello
two_funcs:
  pkg:
    - installed
    - removed
