/* Fixed keys for the fuzz targets that sign or verify (fuzz_keys.c). */
#ifndef ACME_FUZZ_KEYS_H
#define ACME_FUZZ_KEYS_H

#include <openssl/evp.h>

#include "acme_pkey.h"

typedef enum {
    FUZZ_KEY_P256_A,    /* ES256 */
    FUZZ_KEY_P256_B,    /* ES256, another key: must not verify what A signed */
    FUZZ_KEY_RSA,       /* RS256, 2048 bits */
    FUZZ_KEY_COUNT
} fuzz_key_e;

extern const char fuzz_key_p256_a_pem[];
extern const char fuzz_key_p256_b_pem[];
extern const char fuzz_key_rsa_pem[];
/* Ed25519 (CSRs only: acme_pkey_t has no EdDSA keys; see fuzz_evp_ed25519) */
extern const char fuzz_key_ed25519_pem[];

/* The OpenSSL keys of the loaded keys (for LeakSanitizer's sake). */
extern EVP_PKEY *fuzz_key_evps[FUZZ_KEY_COUNT];

/* The key, loaded once per process (it lives as long as the process). */
acme_pkey_t *fuzz_key(fuzz_key_e which);

/* The Ed25519 key as OpenSSL's EVP_PKEY, loaded once per process. */
EVP_PKEY *fuzz_evp_ed25519(void);

#endif /* ACME_FUZZ_KEYS_H */
