{%- macro sls_block(first) -%}
{{ first }}|{{ varargs | join(',') }}|{{ kwargs | dictsort | map('join', '=') | join(';') }}
{%- endmacro %}
builtins:
  test.nop:
    - macro_extra: "{{ sls_block(1, 2, 3, z=5, a=6) }}"
    - replace_count: {{ 'aaaa' | replace('a', 'b', 2) }}
    - wordwrap: {{ ('aaa bbb ccc ddd' | wordwrap(8)) | json }}
    - random_one: {{ [42] | random }}
    - attr_method: {{ {'k': 1} | attr('items') is defined }}
