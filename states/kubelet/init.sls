# The kubelet: binary, defaults file, kubeconfig and systemd unit. It runs
# the static pods dropped into /etc/kubernetes/manifests.
{% set version = pillar.get('kube_version', 'v1.2.4') %}
{% set base_url = pillar.get('kube_release_url', 'https://storage.googleapis.com/kubernetes-release/release') %}
{# kube_bin_source may point at salt://kube-bins to serve binaries from the file roots. #}
{% set bin_source = pillar.get('kube_bin_source', base_url ~ '/' ~ version ~ '/bin/linux/' ~ grains.get('osarch', 'amd64')) %}

include:
  - base
  - docker

/usr/local/bin/kubelet:
  file.managed:
    - source: {{ bin_source }}/kubelet
{% if not bin_source.startswith('salt://') %}
    - source_hash: {{ bin_source }}/kubelet.sha1
{% endif %}
    - user: root
    - group: root
    - mode: 755

/etc/default/kubelet:
  file.managed:
    - source: salt://kubelet/default
    - template: jinja
    - user: root
    - group: root
    - mode: 644

/var/lib/kubelet:
  file.directory:
    - mode: 755
    - makedirs: True

/var/lib/kubelet/kubeconfig:
  file.managed:
    - source: salt://kubelet/kubeconfig
    - template: jinja
    - user: root
    - group: root
    - mode: 400
    - require:
      - file: /var/lib/kubelet

/etc/systemd/system/kubelet.service:
  file.managed:
    - source: salt://kubelet/kubelet.service
    - user: root
    - group: root
    - mode: 644

kubelet:
  service.running:
    - enable: True
    - watch:
      - file: /usr/local/bin/kubelet
      - file: /etc/default/kubelet
      - file: /var/lib/kubelet/kubeconfig
      - file: /etc/systemd/system/kubelet.service
    - require:
      - service: docker
      - file: /etc/kubernetes/manifests
