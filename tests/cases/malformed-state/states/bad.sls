string_instead_of_list:
  pkg: installed
