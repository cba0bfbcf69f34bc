{% set root = grains['scratch'] %}
hello:
  cmd.run:
    - name: echo hello; echo warn >&2
failing:
  cmd.run:
    - name: 'exit 3'
in_cwd:
  cmd.run:
    - name: pwd > out.txt
    - cwd: {{ root }}
with_env:
  cmd.run:
    - name: echo "$GREETING" > {{ root }}/env.txt
    - env:
      - GREETING: bonjour
pipeline:
  cmd.run:
    - name: printf 'b\na\nc\n' | sort | tr '\n' ' '
