#!/bin/bash
# Create the cluster CA and certificates in /srv/kubernetes.
# Usage: make-ca-cert.sh MASTER_IP [EXTRA_SANS]
#   EXTRA_SANS: comma separated subjectAltName entries (IP:x,DNS:y).
# Managed by Salt (generate-cert/init.sls).
set -o errexit
set -o nounset
set -o pipefail

master_ip="${1:?usage: make-ca-cert.sh MASTER_IP [EXTRA_SANS]}"
extra_sans="${2:-}"
cert_dir="${CERT_DIR:-/srv/kubernetes}"
cert_group="${CERT_GROUP:-kube-cert}"
days="${CERT_DAYS:-3650}"

sans="IP:${master_ip}"
if [[ -n "${extra_sans}" ]]; then
  sans="${sans},${extra_sans}"
fi

mkdir -p "${cert_dir}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
cd "${work}"

# Certificate authority.
openssl genrsa -out ca.key 2048
openssl req -x509 -new -nodes -key ca.key -days "${days}" \
  -subj "/CN=kubernetes-ca@$(date +%s)" -out ca.crt

# API server serving certificate, valid for every name clients use.
cat > server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=${sans}
EXT
openssl genrsa -out server.key 2048
openssl req -new -key server.key -subj "/CN=kubernetes-master" -out server.csr
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -days "${days}" -extfile server.ext -out server.cert

# Client certificate for kubectl (admin).
cat > client.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EXT
openssl genrsa -out kubecfg.key 2048
openssl req -new -key kubecfg.key -subj "/CN=kubecfg" -out kubecfg.csr
openssl x509 -req -in kubecfg.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -days "${days}" -extfile client.ext -out kubecfg.crt

install -m 640 ca.crt ca.key server.key kubecfg.key kubecfg.crt "${cert_dir}/"
# server.cert last: its presence marks a complete run (Salt's 'creates').
install -m 640 server.cert "${cert_dir}/"
chgrp "${cert_group}" "${cert_dir}"/ca.crt "${cert_dir}"/ca.key "${cert_dir}"/server.key \
  "${cert_dir}"/server.cert "${cert_dir}"/kubecfg.key "${cert_dir}"/kubecfg.crt
