/* Decoded private keys by the PEM they came from.
 *
 * Decoding a key from PEM costs OpenSSL 3 a decoder set-up of ~0.5 ms, far
 * more than signing with it. A renewal run reads the account key again for
 * every domain at every step it resumes (100 domains: hundreds of times), so
 * each renewal worker keeps the keys it decoded here, by the SHA-256 of their
 * PEM bytes (the PEM itself, a secret, is not kept).
 *
 * Not thread-safe: one cache per thread (the renewal workers' clients each
 * have their own, see acme_client_key_cache()). */
#ifndef ACME_PKEY_CACHE_H
#define ACME_PKEY_CACHE_H

#include <apr_pools.h>

#include "acme_pkey.h"

/* Keys kept; the oldest is replaced by a new one. */
#define ACME_PKEY_CACHE_MAX 4

typedef struct acme_pkey_cache_t acme_pkey_cache_t;

/* An empty cache living as long as `p`. */
acme_pkey_cache_t *acme_pkey_cache_create(apr_pool_t *p);

/* acme_pkey_from_pem() through the cache. The same PEM bytes give the key
 * decoded (and checked) the first time; it belongs to the cache and stays
 * valid until the cache's pool goes or ACME_PKEY_CACHE_MAX other keys were
 * decoded after it, so callers use it within their run and never free it.
 * `p` is for error messages only. Errors as acme_pkey_from_pem(); nothing
 * is cached then. A NULL cache just decodes into `p`. */
apr_status_t acme_pkey_cache_from_pem(acme_pkey_t **pkey, acme_pkey_cache_t *cache,
                                      apr_pool_t *p, const char *pem, apr_size_t len,
                                      const char **perr);

#endif /* ACME_PKEY_CACHE_H */
