/* Decoded private keys by the SHA-256 of their PEM (see acme_pkey_cache.h). */
#include <string.h>

#include <apr_strings.h>
#include <openssl/evp.h>

#include "acme_pkey_cache.h"

typedef struct {
    unsigned char digest[32];
    apr_pool_t *pool;           /* holds the key; destroyed when replaced */
    acme_pkey_t *key;
} cache_entry_t;

struct acme_pkey_cache_t {
    apr_pool_t *pool;
    cache_entry_t entries[ACME_PKEY_CACHE_MAX];
    unsigned int next;          /* the slot a new key goes to */
};

acme_pkey_cache_t *acme_pkey_cache_create(apr_pool_t *p)
{
    acme_pkey_cache_t *cache = apr_pcalloc(p, sizeof(*cache));

    cache->pool = p;
    return cache;
}

static int pem_digest(unsigned char digest[32], const char *pem, apr_size_t len)
{
    unsigned int n = 0;

    return EVP_Digest(pem, len, digest, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

apr_status_t acme_pkey_cache_from_pem(acme_pkey_t **pkey, acme_pkey_cache_t *cache,
                                      apr_pool_t *p, const char *pem, apr_size_t len,
                                      const char **perr)
{
    unsigned char digest[32];
    cache_entry_t *e;
    apr_pool_t *kp;
    apr_status_t rv;
    unsigned int i;

    if (cache == NULL || pem == NULL || !pem_digest(digest, pem, len)) {
        return acme_pkey_from_pem(pkey, p, pem, len, perr);
    }
    for (i = 0; i < ACME_PKEY_CACHE_MAX; ++i) {
        e = &cache->entries[i];
        if (e->key && memcmp(e->digest, digest, sizeof(digest)) == 0) {
            *pkey = e->key;
            return APR_SUCCESS;
        }
    }
    if (apr_pool_create(&kp, cache->pool) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    rv = acme_pkey_from_pem(pkey, kp, pem, len, perr);
    if (rv != APR_SUCCESS) {
        if (perr && *perr) {
            *perr = apr_pstrdup(p, *perr);  /* kp goes now */
        }
        apr_pool_destroy(kp);
        return rv;
    }
    e = &cache->entries[cache->next];
    cache->next = (cache->next + 1) % ACME_PKEY_CACHE_MAX;
    if (e->pool) {
        apr_pool_destroy(e->pool);
    }
    memcpy(e->digest, digest, sizeof(digest));
    e->pool = kp;
    e->key = *pkey;
    return APR_SUCCESS;
}
