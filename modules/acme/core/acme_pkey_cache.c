/* Decoded private keys by the SHA-256 of their PEM (see acme_pkey_cache.h). */
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <openssl/evp.h>

#include "acme_pkey_cache.h"

typedef struct {
    unsigned char digest[32];
    EVP_PKEY *evp;              /* the cache's reference; NULL: a free slot */
} cache_entry_t;

struct acme_pkey_cache_t {
    cache_entry_t *entries;
    unsigned int max;
    unsigned int next;          /* the slot a new key goes to */
    acme_pkey_cache_decode_fn *decode;
    void *baton;
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;  /* NULL when it could not be made: no caching */
#endif
};

static apr_status_t cache_cleanup(void *data)
{
    acme_pkey_cache_t *cache = data;
    unsigned int i;

    for (i = 0; i < cache->max; ++i) {
        EVP_PKEY_free(cache->entries[i].evp);
        cache->entries[i].evp = NULL;
    }
    return APR_SUCCESS;
}

acme_pkey_cache_t *acme_pkey_cache_create(apr_pool_t *p, unsigned int max,
                                          acme_pkey_cache_decode_fn *decode, void *baton)
{
    acme_pkey_cache_t *cache = apr_pcalloc(p, sizeof(*cache));

    cache->max = max ? max : ACME_PKEY_CACHE_MAX;
    cache->entries = apr_pcalloc(p, cache->max * sizeof(cache_entry_t));
    cache->decode = decode;
    cache->baton = baton;
#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&cache->mutex, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS) {
        cache->mutex = NULL;
    }
#endif
    apr_pool_cleanup_register(p, cache, cache_cleanup, apr_pool_cleanup_null);
    return cache;
}

static apr_status_t cache_decode(acme_pkey_t **pkey, const acme_pkey_cache_t *cache,
                                 apr_pool_t *p, const char *pem, apr_size_t len,
                                 const char **perr)
{
    if (cache && cache->decode) {
        return cache->decode(pkey, p, cache->baton, pem, len, perr);
    }
    return acme_pkey_from_pem(pkey, p, pem, len, perr);
}

static int pem_digest(unsigned char digest[32], const char *pem, apr_size_t len)
{
    unsigned int n = 0;

    return EVP_Digest(pem, len, digest, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

static void cache_lock(acme_pkey_cache_t *cache)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(cache->mutex);
#else
    (void)cache;
#endif
}

static void cache_unlock(acme_pkey_cache_t *cache)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(cache->mutex);
#else
    (void)cache;
#endif
}

static int cache_usable(const acme_pkey_cache_t *cache)
{
#if APR_HAS_THREADS
    return cache != NULL && cache->mutex != NULL;
#else
    return cache != NULL;
#endif
}

/* A new reference to the key cached for `digest`, or NULL. Under the lock. */
static EVP_PKEY *cache_find(acme_pkey_cache_t *cache, const unsigned char digest[32])
{
    unsigned int i;

    for (i = 0; i < cache->max; ++i) {
        cache_entry_t *e = &cache->entries[i];
        if (e->evp && memcmp(e->digest, digest, 32) == 0) {
            return EVP_PKEY_up_ref(e->evp) == 1 ? e->evp : NULL;
        }
    }
    return NULL;
}

/* Keeps a reference to `evp` for `digest`. Under the lock. */
static void cache_put(acme_pkey_cache_t *cache, const unsigned char digest[32], EVP_PKEY *evp)
{
    EVP_PKEY *had = cache_find(cache, digest);
    cache_entry_t *e;

    if (had != NULL) {          /* another thread decoded it meanwhile */
        EVP_PKEY_free(had);
        EVP_PKEY_free(evp);
        return;
    }
    e = &cache->entries[cache->next];
    cache->next = (cache->next + 1) % cache->max;
    EVP_PKEY_free(e->evp);
    memcpy(e->digest, digest, 32);
    e->evp = evp;
}

apr_status_t acme_pkey_cache_from_pem(acme_pkey_t **pkey, acme_pkey_cache_t *cache,
                                      apr_pool_t *p, const char *pem, apr_size_t len,
                                      const char **perr)
{
    unsigned char digest[32];
    acme_pkey_t *key;
    EVP_PKEY *evp;
    apr_status_t rv;

    if (!cache_usable(cache) || pem == NULL || !pem_digest(digest, pem, len)) {
        return cache_decode(pkey, cache, p, pem, len, perr);
    }
    cache_lock(cache);
    evp = cache_find(cache, digest);
    cache_unlock(cache);
    if (evp != NULL) {
        return acme_pkey_wrap(pkey, p, evp, perr);
    }
    /* decoded outside the lock: a slow decryption does not hold up others */
    if ((rv = cache_decode(&key, cache, p, pem, len, perr)) != APR_SUCCESS) {
        return rv;
    }
    evp = acme_pkey_get_evp(key);
    if (EVP_PKEY_up_ref(evp) == 1) {
        cache_lock(cache);
        cache_put(cache, digest, evp);
        cache_unlock(cache);
    }
    *pkey = key;
    return APR_SUCCESS;
}

void acme_pkey_cache_put(acme_pkey_cache_t *cache, const char *pem, apr_size_t len,
                         const acme_pkey_t *key)
{
    unsigned char digest[32];
    EVP_PKEY *evp = acme_pkey_get_evp(key);

    if (!cache_usable(cache) || pem == NULL || !pem_digest(digest, pem, len)
        || EVP_PKEY_up_ref(evp) != 1) {
        return;
    }
    cache_lock(cache);
    cache_put(cache, digest, evp);
    cache_unlock(cache);
}
