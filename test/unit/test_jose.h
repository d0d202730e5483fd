/* Shared helpers of check_jose (JOSE and key layer tests). */
#ifndef TEST_JOSE_H
#define TEST_JOSE_H

#include <jansson.h>

#include "acme_pkey.h"
#include "check_main.h"

/* data/jose/<name> read into test_pool, NUL-terminated; fails the test when
 * the file is missing. *plen (may be NULL) gets the size. */
const char *jose_file(const char *name, apr_size_t *plen);

/* The JSON of data/jose/<name>; released with test_pool. */
json_t *jose_json(const char *name);

/* Releases `j` with test_pool; returns it. */
json_t *jose_keep(json_t *j);

/* A string of vectors.json by a dotted path ("rfc7515_a2.signature"). */
const char *jose_vec(const char *path);

/* The key of the JWK file data/jose/<name>; fails the test when unusable.
 * Imported once per process and shared (read-only): an RSA key check takes
 * seconds under valgrind, where all tests run in one process (CK_FORK=no). */
acme_pkey_t *jose_jwk_key(const char *name);

/* A spec from its name, asserting that it parses. */
acme_pkey_spec_t jose_spec(const char *name);

/* Decodes base64url, asserting success; NUL-terminated. */
const char *jose_b64dec(const char *s, apr_size_t *plen);

TCase *jose_b64_tcase(void);
TCase *jose_spec_tcase(void);
TCase *jose_pkey_tcase(void);
TCase *jose_jwk_tcase(void);
TCase *jose_jws_tcase(void);
TCase *jose_jws_acme_tcase(void);
TCase *jose_keyauth_tcase(void);

#endif /* TEST_JOSE_H */
