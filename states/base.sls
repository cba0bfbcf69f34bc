# Packages and directories every cluster machine needs.
{% if grains['os_family'] == 'RedHat' %}
{% set base_pkgs = ['curl', 'ebtables', 'socat', 'ethtool', 'conntrack-tools', 'iptables'] %}
{% else %}
{% set base_pkgs = ['curl', 'ebtables', 'socat', 'ethtool', 'conntrack', 'iptables', 'bridge-utils'] %}
{% endif %}

kubernetes-base-pkgs:
  pkg.installed:
    - pkgs:
{% for p in base_pkgs %}
      - {{ p }}
{% endfor %}

/etc/kubernetes:
  file.directory:
    - user: root
    - group: root
    - mode: 755
    - makedirs: True

/etc/kubernetes/manifests:
  file.directory:
    - user: root
    - group: root
    - mode: 755
    - require:
      - file: /etc/kubernetes

/srv/kubernetes:
  file.directory:
    - user: root
    - group: root
    - mode: 755
    - makedirs: True

kube-cert:
  group.present:
    - system: True
