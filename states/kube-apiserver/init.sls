# kube-apiserver static pod, with its credential files from pillar.
include:
  - base
  - generate-cert
  - etcd
  - kubelet

/srv/kubernetes/basic_auth.csv:
  file.managed:
    - source: salt://kube-apiserver/basic_auth.csv
    - template: jinja
    - user: root
    - group: root
    - mode: 600
    - require:
      - file: /srv/kubernetes

/srv/kubernetes/known_tokens.csv:
  file.managed:
    - source: salt://kube-apiserver/known_tokens.csv
    - template: jinja
    - user: root
    - group: root
    - mode: 600
    - require:
      - file: /srv/kubernetes

/var/log/kube-apiserver.log:
  file.managed:
    - user: root
    - group: root
    - mode: 644
    - replace: False

/etc/kubernetes/manifests/kube-apiserver.manifest:
  file.managed:
    - source: salt://kube-apiserver/kube-apiserver.manifest
    - template: jinja
    - user: root
    - group: root
    - mode: 644
    - require:
      - cmd: generate-cert
      - file: /etc/kubernetes/manifests
      - file: /etc/kubernetes/manifests/etcd.manifest
      - file: /srv/kubernetes/basic_auth.csv
      - file: /srv/kubernetes/known_tokens.csv
      - file: /var/log/kube-apiserver.log
