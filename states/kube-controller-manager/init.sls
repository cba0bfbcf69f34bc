# kube-controller-manager static pod.
include:
  - base
  - generate-cert
  - kube-apiserver

/var/log/kube-controller-manager.log:
  file.managed:
    - user: root
    - group: root
    - mode: 644
    - replace: False

/etc/kubernetes/manifests/kube-controller-manager.manifest:
  file.managed:
    - source: salt://kube-controller-manager/kube-controller-manager.manifest
    - template: jinja
    - user: root
    - group: root
    - mode: 644
    - require:
      - cmd: generate-cert
      - file: /etc/kubernetes/manifests/kube-apiserver.manifest
      - file: /var/log/kube-controller-manager.log
