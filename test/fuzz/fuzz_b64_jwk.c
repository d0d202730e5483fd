/* Fuzz target: base64url text and JWKs. The input is decoded as base64url
 * (decode(encode(x)) must give x back, and only alphabet text decodes), then
 * parsed as a JSON object and built into a key with acme_jwk_to_pkey(): a
 * key that builds must survive the round trips in fuzz_pkey_roundtrip.c. */
#include <string.h>

#include "acme_b64.h"
#include "acme_json.h"
#include "acme_jwk.h"
#include "fuzz_common.h"
#include "fuzz_pkey_roundtrip.h"

static void fuzz_b64(apr_pool_t *p, const uint8_t *data, size_t size)
{
    unsigned char *out = NULL, *back = NULL;
    apr_size_t len = 0, back_len = 0;
    const char *enc;

    if (acme_b64url_decode(&out, &len, p, (const char *)data, size) != APR_SUCCESS) {
        FUZZ_CHECK(out == NULL);
        return;
    }
    FUZZ_CHECK(size == 0 || acme_b64url_is_alphabet((const char *)data, size));
    FUZZ_CHECK(len <= size * 3 / 4 && out[len] == '\0');
    enc = acme_b64url_encode(p, out, len);
    FUZZ_CHECK(strlen(enc) == size);
    FUZZ_CHECK(acme_b64url_decode_str(&back, &back_len, p, enc) == APR_SUCCESS);
    FUZZ_CHECK(back_len == len && memcmp(back, out, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_create();
    unsigned char *out = NULL;
    apr_size_t len = 0;
    acme_pkey_t *key = NULL;
    json_t *jwk = NULL;
    const char *err = NULL;

    fuzz_b64(p, data, size);
    /* The C-string entry point sees the text up to a NUL byte. */
    acme_b64url_decode_str(&out, &len, p, fuzz_strdup(p, data, size));
    if (acme_json_parse(&jwk, p, (const char *)data, size, ACME_JSON_OBJECT, &err)
        == APR_SUCCESS
        && acme_jwk_to_pkey(&key, p, jwk, &err) == APR_SUCCESS) {
        FUZZ_CHECK(key != NULL);
        fuzz_pkey_roundtrip(p, key);
    }
    apr_pool_destroy(p);
    return 0;
}
