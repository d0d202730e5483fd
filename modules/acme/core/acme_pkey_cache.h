/* Decoded private keys by the PEM they came from.
 *
 * Decoding a key from PEM costs OpenSSL 3 a decoder set-up of ~0.5 ms, and
 * decrypting an encrypted PKCS#8 PEM (PBKDF2) some milliseconds, far more
 * than signing with it. A renewal run reads the account key again for every
 * domain at every step it resumes (100 domains: hundreds of times), so the
 * local key custody (acme_keys_local.c) keeps the keys it decoded here, by
 * the SHA-256 of their PEM bytes (the PEM itself, a secret, is not kept).
 *
 * Thread-safe: one cache serves every renewal thread of a process. */
#ifndef ACME_PKEY_CACHE_H
#define ACME_PKEY_CACHE_H

#include <apr_pools.h>

#include "acme_pkey.h"

/* Keys kept by default; the oldest is replaced by a new one. */
#define ACME_PKEY_CACHE_MAX 4

typedef struct acme_pkey_cache_t acme_pkey_cache_t;

/* Decodes `len` bytes of PEM into a key from `p` (acme_pkey_from_pem()'s
 * contract), e.g. decrypting with the store key. */
typedef apr_status_t acme_pkey_cache_decode_fn(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                               const char *pem, apr_size_t len,
                                               const char **perr);

/* An empty cache of up to `max` keys (0: ACME_PKEY_CACHE_MAX) living as long
 * as `p`, decoding with `decode` (NULL: acme_pkey_from_pem(); baton borrowed). */
acme_pkey_cache_t *acme_pkey_cache_create(apr_pool_t *p, unsigned int max,
                                          acme_pkey_cache_decode_fn *decode, void *baton);

/* The key of `len` bytes of PEM: decoded (and checked) the first time, then
 * the same key again for the same bytes. The key handed out is the caller's,
 * in `p` (it shares the OpenSSL key with the cache by reference, so it stays
 * valid when the cache replaces or drops its entry). Errors as the decoder's;
 * nothing is cached then. A NULL cache just decodes into `p`. */
apr_status_t acme_pkey_cache_from_pem(acme_pkey_t **pkey, acme_pkey_cache_t *cache,
                                      apr_pool_t *p, const char *pem, apr_size_t len,
                                      const char **perr);

/* Keeps `key` as the key of `len` bytes of PEM (one just made and saved as
 * that PEM): reading it back costs no decoding, for an encrypted PEM no key
 * derivation. */
void acme_pkey_cache_put(acme_pkey_cache_t *cache, const char *pem, apr_size_t len,
                         const acme_pkey_t *key);

#endif /* ACME_PKEY_CACHE_H */
