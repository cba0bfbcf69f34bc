{% set seen_users = pillar['app']['users'] | join(',') %}
{% set seen_leak = pillar.get('leak', 'none') %}
{% set seen_role = grains['roles'] | join(',') %}
{% set seen_opt = opts.get('brine_leak', 'none') %}
{% do pillar.update({'leak': 'from-b'}) %}
{% do pillar['app']['users'].append('from-b') %}
{% do grains['roles'].append('from-b') %}
{% do opts.update({'brine_leak': 'from-b'}) %}
b_state:
  test.succeed_without_changes:
    - name: "users={{ seen_users }} leak={{ seen_leak }} roles={{ seen_role }} opt={{ seen_opt }} pget={{ salt['pillar.get']('leak', 'none') }} gget={{ salt['grains.get']('roles') | join(',') }} local={{ local is defined }}"
