# Versions of everything the cluster runs.
kube_version: v1.2.4
kube_release_url: https://storage.googleapis.com/kubernetes-release/release
kube_image_registry: gcr.io/google_containers
etcd_version: 2.2.1
docker_pkg: docker.io
