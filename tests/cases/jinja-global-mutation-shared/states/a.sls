{% set seen_users = pillar['app']['users'] | join(',') %}
{% set seen_leak = pillar.get('leak', 'none') %}
{% set seen_role = grains['roles'] | join(',') %}
{% set seen_opt = opts.get('brine_leak', 'none') %}
{% do pillar.update({'leak': 'from-a'}) %}
{% do pillar['app']['users'].append('from-a') %}
{% do grains['roles'].append('from-a') %}
{% do opts.update({'brine_leak': 'from-a'}) %}
{% set local = {'x': 1} %}
a_state:
  test.succeed_without_changes:
    - name: "users={{ seen_users }} leak={{ seen_leak }} roles={{ seen_role }} opt={{ seen_opt }} port={{ pillar['app']['port'] }}"
