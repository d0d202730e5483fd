#!/bin/sh
# Regenerates the chain fixtures of test/unit/test_client_cert.c: one leaf
# whose issuing CA is cross-signed by two roots, as a CA with alternate chains
# (Link rel="alternate") serves it:
#   chain-a.pem       leaf + "Test Issuing CA" signed by "Test Root A"
#   chain-b.pem       leaf + "Test Issuing CA" signed by "Test Root B"
#   chain-b-full.pem  chain-b.pem + the self-signed "Test Root B"
#   chain-bad.pem     leaf + root A (out of issuing order)
# P-256 keys; all keys are thrown away.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ca_ext='basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'

for r in A B; do
  key "$tmp/root$r.key"
  openssl req -x509 -new -key "$tmp/root$r.key" -sha256 -days 36500 \
    -subj "/O=mod_acme test/CN=Test Root $r" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$tmp/root$r.pem"
done

key "$tmp/int.key"
openssl req -new -key "$tmp/int.key" -subj "/O=mod_acme test/CN=Test Issuing CA" -out "$tmp/int.csr"
printf "$ca_ext" > "$tmp/int.ext"
for r in A B; do
  openssl x509 -req -in "$tmp/int.csr" -CA "$tmp/root$r.pem" -CAkey "$tmp/root$r.key" \
    -set_serial 0x200$r -days 36500 -sha256 -extfile "$tmp/int.ext" -out "$tmp/int$r.pem"
done

key "$tmp/leaf.key"
openssl req -new -key "$tmp/leaf.key" -subj "/CN=a.test" -out "$tmp/leaf.csr"
printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
  'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:a.test' > "$tmp/leaf.ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/intA.pem" -CAkey "$tmp/int.key" \
  -set_serial 0x3001 -days 36500 -sha256 -extfile "$tmp/leaf.ext" -out "$tmp/leaf.pem"

cat "$tmp/leaf.pem" "$tmp/intA.pem" > chain-a.pem
cat "$tmp/leaf.pem" "$tmp/intB.pem" > chain-b.pem
cat "$tmp/leaf.pem" "$tmp/intB.pem" "$tmp/rootB.pem" > chain-b-full.pem
cat "$tmp/leaf.pem" "$tmp/rootA.pem" > chain-bad.pem
