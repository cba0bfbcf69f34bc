# Bearer tokens of the cluster's service users (token,user,uid in
# known_tokens.csv). Replace these example values before use.
{% set tokens = {
  'kubelet': 'ZXhhbXBsZS1rdWJlbGV0LXRva2VuLTAwMDE',
  'kube_proxy': 'ZXhhbXBsZS1rdWJlLXByb3h5LXRva2VuLTAx',
  'admin': 'ZXhhbXBsZS1hZG1pbi10b2tlbi0wMDAwMDAx'
} %}
kubelet_token: {{ tokens['kubelet'] }}
kube_proxy_token: {{ tokens['kube_proxy'] }}

tokens:
  kubelet:
    token: {{ tokens['kubelet'] }}
  kube_proxy:
    token: {{ tokens['kube_proxy'] }}
    user: kube-proxy
  admin:
    token: {{ tokens['admin'] }}
