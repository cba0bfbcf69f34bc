# Highstate top file: which SLS each kind of machine gets.
# Machines are told apart by the 'roles' grain (set in the minion config
# or /etc/salt/grains), as in Kubernetes' original saltbase.
base:
  '*':
    - base

  'roles:kubernetes-pool':
    - match: grain
    - cbr0
    - docker
    - kubelet
    - kube-proxy
    - logrotate

  'roles:kubernetes-master':
    - match: grain
    - generate-cert
    - etcd
    - docker
    - kubelet
    - kube-apiserver
    - kube-controller-manager
    - kube-scheduler
    - kube-proxy
    - kube-client-tools
    - logrotate
