#!/bin/sh
# Regenerates the X.509 fixtures of test/unit/test_x509_*.c with the openssl
# command line: a root CA, an intermediate and a leaf, P-256 keys. The CA keys
# are thrown away; leaf.key stays (test-only key) for the key-match tests.
# After running, update the expected values in test_x509_cert.c from the
# output of the last lines (fingerprint, serial, dates).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

key "$tmp/root.key"
openssl req -x509 -new -key "$tmp/root.key" -sha256 -days 36500 -subj "/O=mod_acme test/CN=Test Root" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out root.pem

key "$tmp/int.key"
openssl req -new -key "$tmp/int.key" -subj "/O=mod_acme test/CN=Test Intermediate" -out "$tmp/int.csr"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > "$tmp/int.ext"
openssl x509 -req -in "$tmp/int.csr" -CA root.pem -CAkey "$tmp/root.key" -set_serial 0x1001 \
  -days 36500 -sha256 -extfile "$tmp/int.ext" -out intermediate.pem

key leaf.key
openssl req -new -key leaf.key -subj "/CN=www.example.org" -out "$tmp/leaf.csr"
printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
  'extendedKeyUsage=serverAuth' \
  'subjectAltName=DNS:www.example.org,DNS:*.example.org,IP:192.0.2.1,IP:2001:db8::1' > "$tmp/leaf.ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA intermediate.pem -CAkey "$tmp/int.key" \
  -set_serial 0x0A1B2C3D4E5F60 -days 36500 -sha256 -extfile "$tmp/leaf.ext" -out leaf.pem
openssl x509 -in leaf.pem -outform DER -out leaf.der

cat leaf.pem intermediate.pem > chain.pem
cat leaf.pem intermediate.pem root.pem > chain-full.pem

openssl x509 -in leaf.pem -noout -fingerprint -sha256 -serial -issuer -subject -startdate -enddate \
  -nameopt oneline,-esc_msb,utf8
