# The cbr0 bridge that pods on this node attach to. Its address is the
# first IP of the node's pod /24 taken from pillar 'node_cidrs'.
{% set cidr = salt['pillar.get']('node_cidrs:' ~ grains['id'], pillar.get('default_node_cidr', '10.244.1.0/24')) %}
{% set octets = cidr.split('/')[0].split('.') %}
{% set gateway = octets[0] ~ '.' ~ octets[1] ~ '.' ~ octets[2] ~ '.1/' ~ cidr.split('/')[1] %}

cbr0:
  cmd.run:
    - name: ip link add cbr0 type bridge && ip addr add {{ gateway }} dev cbr0 && ip link set dev cbr0 mtu {{ pillar.get('network_mtu', 1460) }} up
    - unless: ip link show cbr0
    - require:
      - pkg: kubernetes-base-pkgs

cbr0-ip-forward:
  cmd.run:
    - name: sysctl -w net.ipv4.ip_forward=1
    - unless: test "$(sysctl -n net.ipv4.ip_forward)" = 1

# Masquerade traffic leaving the cluster network.
cbr0-masquerade:
  cmd.run:
    - name: iptables -t nat -A POSTROUTING ! -d {{ pillar['cluster_cidr'] }} -m addrtype ! --dst-type LOCAL -j MASQUERADE
    - unless: iptables -t nat -C POSTROUTING ! -d {{ pillar['cluster_cidr'] }} -m addrtype ! --dst-type LOCAL -j MASQUERADE
    - require:
      - cmd: cbr0

include:
  - base
