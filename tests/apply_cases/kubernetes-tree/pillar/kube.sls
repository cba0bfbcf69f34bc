kube:
  registry: registry.local:5000
  tag: v1.2.3
  apps:
    - api
    - web
    - worker
  kubeconfig: |
    apiVersion: v1
    kind: Config
    clusters:
      - name: local
