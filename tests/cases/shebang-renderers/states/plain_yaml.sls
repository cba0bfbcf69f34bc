#!yaml
# With #!yaml, Jinja is not run: the braces stay literal text.
plain_yaml:
  test.nop:
    - text: "{{ not rendered }}"
    - pct: "{% raw %}"
