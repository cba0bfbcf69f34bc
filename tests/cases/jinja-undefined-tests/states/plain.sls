plain:
  test.nop:
    - defined: {{ no_such_variable is defined }}
    - undefined: {{ no_such_variable is undefined }}
    - default: {{ no_such_variable | default('fallback') }}
    - missing_pillar: "{{ pillar.get('nope') }}"
    - missing_grain: "{{ grains.get('nope') }}"
    - none_literal: {{ none }}
