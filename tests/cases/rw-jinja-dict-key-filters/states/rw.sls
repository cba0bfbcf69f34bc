{%- set d = {'a': {'b': {'c': 1}, 'l': [1]}} %}
dict_filters:
  test.nop:
    - set: {{ d | set_dict_key_value('a:b:x', 2) | json }}
    - update: {{ {'a': {'b': {}}} | update_dict_key_value('a:b', {'y': 3}) | json }}
    - append: {{ {'a': {'l': [1]}} | append_dict_key_value('a:l', 2) | json }}
    - extend: {{ {'a': {'l': [1]}} | extend_dict_key_value('a:l', [3, 4]) | json }}
    - compare: {{ {'a': 1, 'b': 2} | compare_dicts({'a': 1, 'b': 3, 'c': 4}) | json }}
    - is_empty: {{ '' | is_empty }}
    - strftime: {{ 0 | strftime('%Y-%m-%d') }}
    - date_format: {{ 86400 | date_format('%Y/%m/%d') }}
