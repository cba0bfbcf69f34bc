# etcd for the cluster state, run by the kubelet as a static pod.
include:
  - base
  - kubelet

/var/etcd:
  file.directory:
    - user: root
    - group: root
    - mode: 700
    - makedirs: True

/var/log/etcd.log:
  file.managed:
    - user: root
    - group: root
    - mode: 644
    - replace: False

/etc/kubernetes/manifests/etcd.manifest:
  file.managed:
    - source: salt://etcd/etcd.manifest
    - template: jinja
    - user: root
    - group: root
    - mode: 644
    - require:
      - file: /etc/kubernetes/manifests
      - file: /var/etcd
      - file: /var/log/etcd.log
