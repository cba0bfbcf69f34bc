pcre_list_member:
  test.nop: []
