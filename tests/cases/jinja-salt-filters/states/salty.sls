{% set a = [3, 1, 2, 2] %}
{% set b = [2, 3, 4] %}
{% set d = {'x': {'y': {'z': 1}}, 'list': [1, 2]} %}
salty:
  test.nop:
    - union: {{ a | union(b) }}
    - intersect: {{ a | intersect(b) }}
    - difference: {{ a | difference(b) }}
    - symmetric_difference: {{ a | symmetric_difference(b) }}
    - avg: {{ [1, 2, 3, 4] | avg }}
    - flatten: {{ [1, [2, [3, 4]], 5] | flatten }}
    - is_list: {{ a | is_list }}-{{ 'x' | is_list }}
    - is_iter: {{ a | is_iter }}
    - is_ip: {{ '10.0.0.1' | is_ip }}-{{ 'nope' | is_ip }}
    - is_hex: {{ '0xff' | is_hex }}
    - contains_whitespace: {{ 'a b' | contains_whitespace }}
    - sorted_ignorecase: {{ ['b', 'A', 'c'] | sorted_ignorecase }}
    - to_num: {{ '42' | to_num + 1 }}
    - str_to_num: {{ '7' | str_to_num }}
    - human_to_bytes: {{ '1K' | human_to_bytes }}
    - traverse: {{ d | traverse('x:y:z') }}
    - traverse_default: {{ d | traverse('x:nope', 'dflt') }}
    - path_join: {{ '/etc' | path_join('app', 'conf') }}
    - to_snake_case: {{ 'camelCaseWord' | to_snake_case }}
    - to_camelcase: {{ 'snake_case_word' | to_camelcase }}
    - yaml_encode: {{ 'a: b' | yaml_encode }}
    - yaml_dquote: {{ 'say "hi"' | yaml_dquote }}
    - yaml_squote: {{ "it's" | yaml_squote }}
    - regex_escape: {{ 'a.b*c' | regex_escape }}
    - exactly_one_true: {{ [True, False, False] | exactly_one_true }}
    - exactly_n_true: {{ [True, True, False] | exactly_n_true(2) }}
    - substring_in_list: {{ 'ell' | substring_in_list(['hello', 'x']) }}
    - compare_lists: {{ [1, 2] | compare_lists([2, 3]) }}
    - compare_dicts: {{ {'a': 1} | compare_dicts({'a': 2}) }}
    - skip: '{{ 'text' | skip }}'
    - method_call: {{ 'a,b' | method_call('split', ',') }}
    - to_entries: {{ {'k': 'v'} | to_entries }}
    - from_entries: {{ [{'key': 'k', 'value': 'v'}] | from_entries }}
    - min_max: {{ a | min }}-{{ a | max }}
    - set_dict_key_value: {{ {} | set_dict_key_value('a:b', 1) }}
    - indent_salt: "{{ 'a\nb' | indent(2, True) }}"
    - unique_salt: {{ ['b', 'a', 'b'] | unique }}
    - str_methods: {{ 'Hello'.upper() }}-{{ 'a b c'.split() | length }}-{{ 'x'.join(['1', '2']) }}
