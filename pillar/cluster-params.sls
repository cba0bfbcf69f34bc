# Cluster-wide network and naming settings.
instance_prefix: kubernetes
master_name: kubernetes-master
# Address nodes use to reach the apiserver.
api_server: 10.240.0.2

# Virtual IPs of services, and the first of them (the 'kubernetes' service).
service_cluster_ip_range: 10.0.0.0/16
kubernetes_service_ip: 10.0.0.1

# Pod network: one /24 of cluster_cidr per node, bridged on cbr0.
cluster_cidr: 10.244.0.0/16
allocate_node_cidrs: false
node_cidrs:
  kubernetes-minion-1: 10.244.1.0/24
  kubernetes-minion-2: 10.244.2.0/24
  kubernetes-minion-3: 10.244.3.0/24
default_node_cidr: 10.244.254.0/24
network_mtu: 1460

dns_server: 10.0.0.10
dns_domain: cluster.local

admission_control:
  - NamespaceLifecycle
  - LimitRanger
  - SecurityContextDeny
  - ServiceAccount
  - ResourceQuota

log_level: 2
logrotate_maxsize: 100M
