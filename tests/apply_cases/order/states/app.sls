{% set root = grains['scratch'] %}
{% for n in ['a', 'b', 'c', 'd', 'e', 'f'] %}
log_{{ n }}_init:
  file.touch:
    - name: {{ root }}/{{ n }}
{% endfor %}
z_last:
  cmd.run:
    - name: echo last >> {{ root }}/order.log
    - order: last
y_first:
  cmd.run:
    - name: echo first >> {{ root }}/order.log
    - order: first
x_ten:
  cmd.run:
    - name: echo ten >> {{ root }}/order.log
    - order: 10
w_two:
  cmd.run:
    - name: echo two >> {{ root }}/order.log
    - order: 2
v_plain:
  cmd.run:
    - name: echo plain >> {{ root }}/order.log
u_requires:
  cmd.run:
    - name: echo requires >> {{ root }}/order.log
    - require:
      - cmd: z_last
