#!/usr/bin/env bash
# Makes the throw-away PKI the security tests use, in DIR (created; nothing
# here is ever committed):
#   ca.pem / ca.key                   the CA servers and clients trust
#   other-ca.pem / other-ca.key       a CA nobody trusts
#   server.pem / server.key           CN server-1, SAN DNS:localhost, IP:127.0.0.1
#   server-2.pem / server-2.key       the same names, CN server-2 (rotation)
#   dashboard.pem / .key              client, SAN URI:spiffe://tutoring.test/dashboard
#   exercise-generator.pem / .key     client, SAN URI:spiffe://tutoring.test/exercise-generator
#   stranger.pem / .key               client signed by other-ca
#   tokens                            bearer tokens: dashboard.<hex>, reporting.<hex>
# Usage: make_test_certs.sh DIR
set -euo pipefail
dir="$1"
mkdir -p "$dir"
cd "$dir"

ca() {  # name cn
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() {  # name cn san ca usage
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' \
    "$3" "$5" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" \
    -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "tutoring test CA"
ca other-ca "untrusted test CA"
leaf server server-1 "DNS:localhost,IP:127.0.0.1" ca serverAuth
leaf server-2 server-2 "DNS:localhost,IP:127.0.0.1" ca serverAuth
leaf dashboard dashboard "URI:spiffe://tutoring.test/dashboard" ca clientAuth
leaf exercise-generator exercise-generator \
  "URI:spiffe://tutoring.test/exercise-generator" ca clientAuth
leaf stranger dashboard "URI:spiffe://tutoring.test/dashboard" other-ca clientAuth
{
  echo "# test tokens, made at test time"
  echo "dashboard.$(openssl rand -hex 24)"
  echo "reporting.$(openssl rand -hex 24)"
} >tokens
