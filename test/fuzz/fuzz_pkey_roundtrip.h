/* A key that one of the parsers accepted, checked the way the rest of the
 * client will use it: shared by fuzz_pkey_pem.c and fuzz_b64_jwk.c. */
#ifndef ACME_FUZZ_PKEY_ROUNDTRIP_H
#define ACME_FUZZ_PKEY_ROUNDTRIP_H

#include "acme_pkey.h"

/* Checks the spec's ranges, that the public JWK reads back as the same key
 * (with the RFC 7638 thumbprint computed; a public-only key may fail
 * OpenSSL's randomized modulus check instead), and for a private key that
 * its PKCS#8 PEM reads back as the same key. Aborts on a broken property. */
void fuzz_pkey_roundtrip(apr_pool_t *p, const acme_pkey_t *key);

#endif /* ACME_FUZZ_PKEY_ROUNDTRIP_H */
