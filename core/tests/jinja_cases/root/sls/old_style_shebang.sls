#!yaml_jinja
{{ grains.id }}:
  test.nop: []
