# Cluster CA, apiserver serving cert and the admin client cert, made once
# by a shell script with openssl (cmd.run with 'creates').
{% set master_ip = pillar.get('api_server', grains['ipv4'][-1]) %}
{% set service_ip = pillar.get('kubernetes_service_ip', '10.0.0.1') %}
{% set dns_domain = pillar.get('dns_domain', 'cluster.local') %}
{% set sans = [
  'IP:' ~ service_ip,
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.' ~ dns_domain,
  'DNS:' ~ pillar.get('master_name', grains['host'])
] %}

include:
  - base

openssl:
  pkg.installed: []

/usr/local/bin/make-ca-cert.sh:
  file.managed:
    - source: salt://generate-cert/make-ca-cert.sh
    - user: root
    - group: root
    - mode: 755

generate-cert:
  cmd.run:
    - name: /usr/local/bin/make-ca-cert.sh {{ master_ip }} {{ sans | join(',') }}
    - creates: /srv/kubernetes/server.cert
    - cwd: /
    - require:
      - pkg: openssl
      - file: /usr/local/bin/make-ca-cert.sh
      - file: /srv/kubernetes
      - group: kube-cert
