{% set userfile_dirs = salt['cp.list_master_dirs'](prefix='users/files/user/') -%}
user_files:
  test.nop:
    - dirs: {{ userfile_dirs | json }}
    - alice: {{ ('users/files/user/' ~ 'alice') in userfile_dirs }}
    - bob: {{ ('users/files/user/' ~ 'bob') in userfile_dirs }}
    - all_dirs: {{ salt['cp.list_master_dirs']() | sort | json }}
    - files: {{ salt['cp.list_master'](prefix='users/files/') | sort | json }}
