{% set data = {'name': 'web', 'ports': [80, 443], 'opts': {'z': 1, 'a': 2}} %}
{% set dup = ['b', 'a', 'b', 'c', 'a'] %}
filters:
  test.nop:
    - json: '{{ data | json }}'
    - tojson: '{{ data | tojson }}'
    - yaml_flow: '{{ data | yaml }}'
    - yaml_block: |
        {{ data | yaml(False) | indent(8) }}
    - default: {{ undefined_thing | default('dflt') }}
    - default_none: {{ none | default('x', true) }}
    - join: {{ dup | join(',') }}
    - unique: {{ dup | unique | list }}
    - sort: {{ dup | sort }}
    - regex_replace: {{ 'web-01.example.com' | regex_replace('[0-9]+', 'NN') }}
    - regex_search: {{ 'abc123' | regex_search('([a-z]+)([0-9]+)') }}
    - regex_match: {{ 'abc123' | regex_match('([a-z]+)') }}
    - upper: {{ 'MiXed' | upper }}-{{ 'MiXed' | lower }}-{{ 'hello world' | title }}
    - replace: {{ 'a-b-c' | replace('-', '_') }}
    - percent: {{ '%s:%d' % ('host', 8080) }}
    - percent_dict: {{ '%(a)s/%(b)s' % {'a': 'x', 'b': 'y'} }}
    - format: {{ '{}-{}'.format('a', 'b') }}
    - int: {{ '42' | int + 1 }}
    - float: {{ '2.5' | float * 2 }}
    - length: {{ data.ports | length }}
    - first_last: {{ dup | first }}{{ dup | last }}
    - dictsort: {{ data.opts | dictsort }}
    - map_attr: {{ [{'n': 1}, {'n': 2}] | map(attribute='n') | list }}
    - select: {{ [1, 2, 3, 4] | select('odd') | list }}
    - sum: {{ data.ports | sum }}
    - min_max: {{ data.ports | min }}-{{ data.ports | max }}
    - string_methods: {{ ' pad '.strip() }}|{{ 'a,b'.split(',') }}|{{ 'abc'.startswith('a') }}
    - trim: {{ '  x  ' | trim }}
    - center: '{{ 'x' | center(5) }}'
    - batch: {{ [1, 2, 3] | batch(2) | list }}
    - to_bool: {{ 'yes' | to_bool }}
    - quote: {{ 'it is' | quote }}
    - sequence: {{ 'one' | sequence }}
    - abs_round: {{ -3.7 | abs }}-{{ 3.14159 | round(2) }}
    - reverse: {{ [1, 2, 3] | reverse | list }}
    - base64: {{ 'hello' | base64_encode }}
    - md5: {{ 'hello' | md5 }}
    - sha256: {{ 'hello' | sha256 }}
