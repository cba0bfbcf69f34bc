# kube-proxy, run by the kubelet as a static pod.
include:
  - kubelet

/var/lib/kube-proxy:
  file.directory:
    - mode: 755
    - makedirs: True

/var/lib/kube-proxy/kubeconfig:
  file.managed:
    - source: salt://kube-proxy/kubeconfig
    - template: jinja
    - user: root
    - group: root
    - mode: 400
    - require:
      - file: /var/lib/kube-proxy

/var/log/kube-proxy.log:
  file.managed:
    - user: root
    - group: root
    - mode: 644
    - replace: False

/etc/kubernetes/manifests/kube-proxy.manifest:
  file.managed:
    - source: salt://kube-proxy/kube-proxy.manifest
    - template: jinja
    - user: root
    - group: root
    - mode: 644
    - require:
      - file: /etc/kubernetes/manifests
      - file: /var/lib/kube-proxy/kubeconfig
      - file: /var/log/kube-proxy.log
      - service: kubelet
