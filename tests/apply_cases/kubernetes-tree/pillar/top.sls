base:
  '*':
    - kube
