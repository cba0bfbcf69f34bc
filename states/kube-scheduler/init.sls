# kube-scheduler static pod.
include:
  - kube-apiserver

/var/log/kube-scheduler.log:
  file.managed:
    - user: root
    - group: root
    - mode: 644
    - replace: False

/etc/kubernetes/manifests/kube-scheduler.manifest:
  file.managed:
    - source: salt://kube-scheduler/kube-scheduler.manifest
    - template: jinja
    - user: root
    - group: root
    - mode: 644
    - require:
      - file: /etc/kubernetes/manifests/kube-apiserver.manifest
      - file: /var/log/kube-scheduler.log
