# kubectl on the master, with an admin kubeconfig for root.
{% set version = pillar.get('kube_version', 'v1.2.4') %}
{% set base_url = pillar.get('kube_release_url', 'https://storage.googleapis.com/kubernetes-release/release') %}
{# kube_bin_source may point at salt://kube-bins to serve binaries from the file roots. #}
{% set bin_source = pillar.get('kube_bin_source', base_url ~ '/' ~ version ~ '/bin/linux/' ~ grains.get('osarch', 'amd64')) %}

include:
  - generate-cert

/usr/local/bin/kubectl:
  file.managed:
    - source: {{ bin_source }}/kubectl
{% if not bin_source.startswith('salt://') %}
    - source_hash: {{ bin_source }}/kubectl.sha1
{% endif %}
    - user: root
    - group: root
    - mode: 755

/root/.kube/config:
  file.managed:
    - source: salt://kube-client-tools/kubeconfig
    - template: jinja
    - user: root
    - group: root
    - mode: 600
    - makedirs: True
    - require:
      - cmd: generate-cert
