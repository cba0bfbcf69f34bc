include:
  - common.users
  - .local
  - extra:
      key: nested_under
  - withdefaults:
      defaults:
        greeting: hi
main_key: main
shared:
  from_main: 1
