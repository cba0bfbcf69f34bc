{%- set addrs = ['10.0.0.1', 'not-an-ip', '::1', '192.168.1.5/24', 'fe80::1/64'] %}
net_filters:
  test.nop:
    - ipaddr_list: {{ addrs | ipaddr | json }}
    - ipaddr_one: {{ '192.168.1.5/24' | ipaddr | json }}
    - ipaddr_bad: {{ 'nope' | ipaddr | json }}
    - ipv4: {{ addrs | ipv4 | json }}
    - ipv6: {{ addrs | ipv6 | json }}
    - ipv4_options: {{ ['10.0.0.1', '8.8.8.8'] | ipv4('private') | json }}
    - ip_host: {{ '192.168.1.5/24' | ip_host }}
    - network_hosts: {{ '10.0.0.0/29' | network_hosts | json }}
    - network_size: {{ '10.0.0.0/22' | network_size }}
    - ipwrap: {{ ['::1', '10.0.0.1'] | ipwrap | json }}
    - by_networks: {{ ['10.0.0.5', '10.1.0.5', '192.168.0.1'] | filter_by_networks(['10.0.0.0/16']) | json }}
    - is_ipv4: {{ '10.0.0.1' | is_ipv4 }}
    - is_ipv6: {{ '10.0.0.1' | is_ipv6 }}
