base:
  '*':
    - plain_yaml
    - jinja_json
    - pure_json
    - explicit_jinja_yaml
    - yaml_jinja
