/* Fuzz target: private keys in PEM (PKCS#8 and the traditional RSA/EC
 * forms), as the store reads account and certificate keys and as imported
 * keys arrive. A key that parses must be a private key of a supported spec
 * and survive the round trips in fuzz_pkey_roundtrip.c. */
#include "acme_pkey.h"
#include "fuzz_common.h"
#include "fuzz_pkey_roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    acme_pkey_t *key = NULL;
    const char *err = NULL;

    if (acme_pkey_from_pem(&key, p, (const char *)data, size, &err) == APR_SUCCESS) {
        FUZZ_CHECK(key != NULL && acme_pkey_has_private(key));
        fuzz_pkey_roundtrip(p, key);
    }
    else {
        FUZZ_CHECK(err != NULL);
    }
    apr_pool_destroy(p);
    return 0;
}
