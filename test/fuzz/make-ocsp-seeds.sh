#!/bin/sh
# Makes the OCSP fixtures of fuzz_ocsp_response.c and its seeds, in the
# current directory (use an empty scratch directory):
#   ca.pem, other-ca.pem (same name, another key), leaf.pem (serial 0x1001),
#   leaf2.pem (0x1002), responder.pem (delegated, OCSP signing EKU) and
#   seeds/*.der. Made once; to remake them, paste the four certificates into
#   fuzz_ocsp_response.c, copy seeds/ to corpus/ocsp_response/ and set the
#   target's NOW a minute after the seeds' thisUpdate.
set -e
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1 2>/dev/null; }
key ca.key; key other-ca.key; key leaf.key; key responder.key
cat > ext.cnf <<'X'
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign,digitalSignature
[leaf]
basicConstraints=CA:FALSE
subjectAltName=DNS:example.org
authorityInfoAccess=OCSP;URI:http://ocsp.example/
[responder]
basicConstraints=CA:FALSE
extendedKeyUsage=OCSPSigning
X
openssl req -new -x509 -key ca.key -subj "/CN=Fuzz CA" -days 3650 -set_serial 1 -extfile ext.cnf -extensions ca -out ca.pem 2>/dev/null || \
openssl req -new -x509 -key ca.key -subj "/CN=Fuzz CA" -days 3650 -set_serial 1 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out ca.pem
openssl req -new -x509 -key other-ca.key -subj "/CN=Fuzz CA" -days 3650 -set_serial 1 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out other-ca.pem
for c in leaf responder; do
  openssl req -new -key $c.key -subj "/CN=$c" -out $c.csr
done
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 4097 -days 90 -extfile ext.cnf -extensions leaf -out leaf.pem 2>/dev/null
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 4098 -days 90 -extfile ext.cnf -extensions leaf -out leaf2.pem 2>/dev/null
openssl x509 -req -in responder.csr -CA ca.pem -CAkey ca.key -set_serial 8193 -days 90 -extfile ext.cnf -extensions responder -out responder.pem 2>/dev/null
end=$(date -u -d '+90 days' +%y%m%d%H%M%SZ)
rev=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t1001\tunknown\t/CN=leaf\n' $end > index-good.txt
printf 'R\t%s\t%s,keyCompromise\t1001\tunknown\t/CN=leaf\n' $end $rev > index-revoked.txt
: > index-empty.txt
openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout req.der
resp() { # out index signer key [more]
  out=$1 idx=$2 signer=$3 skey=$4; shift 4
  openssl ocsp -index $idx -rsigner $signer -rkey $skey -CA ca.pem -reqin req.der -respout $out "$@" >/dev/null 2>&1
}
mkdir -p seeds
resp seeds/good-by-issuer.der index-good.txt ca.pem ca.key -ndays 7
resp seeds/revoked-by-issuer.der index-revoked.txt ca.pem ca.key -ndays 7
resp seeds/good-by-delegate.der index-good.txt responder.pem responder.key -ndays 7
resp seeds/good-no-next-update.der index-good.txt ca.pem ca.key
resp seeds/unknown-by-issuer.der index-empty.txt ca.pem ca.key -ndays 7
resp seeds/good-by-other-ca.der index-good.txt other-ca.pem other-ca.key -ndays 7 -resp_no_certs
resp seeds/good-by-self-signed-responder-keyid.der index-good.txt responder.pem responder.key -ndays 7 -resp_key_id
printf '\060\003\012\001\003' > seeds/try-later.der
