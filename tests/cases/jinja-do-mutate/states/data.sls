{% set cfg = {'a': 1} %}
{% set items = [] %}
{% do cfg.update({'b': 2, 'c': [1, 2]}) %}
{% do cfg.update(d=4) %}
{% do items.append('x') %}
{% do items.extend(['y', 'z']) %}
{% do items.insert(0, 'w') %}
{% set popped = items.pop() %}
{% do cfg.setdefault('e', 5) %}
{% do cfg.setdefault('a', 100) %}
mutated:
  test.nop:
    - cfg: {{ cfg | json }}
    - items: {{ items }}
    - popped: {{ popped }}
    - keys: {{ cfg.keys() | list }}
    - has_b: {{ 'b' in cfg }}
    - get_missing: {{ cfg.get('zz', 'fallback') }}
    - items_list: {{ cfg.items() | list | length }}
