/* Key custody in this process: keys in the store, see acme_keys.h. */
#include <apr_strings.h>

#include "acme_csr.h"
#include "acme_jws.h"
#include "acme_keys.h"
#include "acme_layout.h"
#include "acme_log.h"
#include "acme_pkey_cache.h"
#include "acme_store_pkey.h"

/* Decoded keys kept: the account keys in use and the staged keys of the
 * domains being renewed at once. */
#define KEYS_LOCAL_CACHE_MAX 32

typedef struct {
    acme_store_t *store;
    acme_pkey_cache_t *cache;   /* decoded keys by their PEM (encrypted ones cost
                                 * a PBKDF2 derivation each) */
} keys_local_t;

static apr_status_t key_decode(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                               const char *pem, apr_size_t len, const char **perr)
{
    return acme_store_pkey_from_pem(pkey, p, baton, pem, len, perr);
}

/* The key saved as (group, name, aspect). APR_ENOENT when absent, APR_EACCES
 * when the file is not private (acme_store_load_private() logged it). */
static apr_status_t key_load(acme_pkey_t **pkey, apr_pool_t *p, keys_local_t *kl,
                             acme_store_group_e group, const char *name, const char *aspect,
                             const char **perr)
{
    const char *pem;
    apr_size_t len;
    apr_status_t rv;

    rv = acme_store_load_private(&pem, &len, p, kl->store, group, name, aspect);
    if (rv != APR_SUCCESS) {
        if (perr) {
            *perr = APR_STATUS_IS_ENOENT(rv) ? "no key"
                    : APR_STATUS_IS_EACCES(rv) ? "the key file is not private"
                    : "the key cannot be read";
        }
        return rv;
    }
    return acme_pkey_cache_from_pem(pkey, kl->cache, p, pem, len, perr);
}

/* A new key of `spec` saved as (group, name, aspect). */
static apr_status_t key_make(acme_pkey_t **pkey, apr_pool_t *p, keys_local_t *kl,
                             acme_store_group_e group, const char *name, const char *aspect,
                             const acme_pkey_spec_t *spec, int excl, const char **perr)
{
    acme_pkey_t *key;
    const char *pem;
    apr_size_t len;
    apr_status_t rv;

    if ((rv = acme_pkey_generate(&key, p, spec, perr)) != APR_SUCCESS
        || (rv = acme_store_pkey_to_pem(&pem, &len, p, kl->store, group, key, perr))
               != APR_SUCCESS) {
        return rv;
    }
    rv = acme_store_save(kl->store, p, group, name, aspect, pem, len,
                         ACME_STORE_PRIVATE | (excl ? ACME_STORE_EXCL : 0));
    if (rv != APR_SUCCESS) {
        if (perr) {
            *perr = APR_STATUS_IS_EEXIST(rv) ? "the key exists" : "the key cannot be saved";
        }
        return rv;
    }
    /* the CSR and the checks after read it back: no key derivation then */
    acme_pkey_cache_put(kl->cache, pem, len, key);
    *pkey = key;
    return APR_SUCCESS;
}

static apr_status_t local_account_key(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                      const char *account_id, int create, const char **perr)
{
    acme_pkey_spec_t p256 = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };

    if (create) {
        return key_make(pkey, p, baton, ACME_STORE_ACCOUNTS, account_id,
                        ACME_ASPECT_ACCOUNT_KEY, &p256, 1, perr);
    }
    return key_load(pkey, p, baton, ACME_STORE_ACCOUNTS, account_id, ACME_ASPECT_ACCOUNT_KEY,
                    perr);
}

static apr_status_t local_eab(json_t **pjws, apr_pool_t *p, void *baton,
                              const char *account_id, const char *eab_kid,
                              const char *eab_hmac, const char *url, const char **perr)
{
    acme_pkey_t *key;
    apr_status_t rv;

    if ((rv = local_account_key(&key, p, baton, account_id, 0, perr)) != APR_SUCCESS) {
        return rv;
    }
    return acme_jws_sign_eab(pjws, p, key, eab_kid, eab_hmac, NULL, url, perr);
}

static apr_status_t local_domain_key(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                     const char *md, const acme_pkey_spec_t *spec, int create,
                                     const char **perr)
{
    const char *spec_name = acme_pkey_spec_name(p, spec);
    const char *aspect = acme_layout_privkey(p, spec_name), *why = NULL;
    acme_pkey_t *key = NULL;
    apr_status_t rv;

    rv = key_load(&key, p, baton, ACME_STORE_STAGING, md, aspect, &why);
    if (rv == APR_SUCCESS && !acme_pkey_spec_eq(acme_pkey_get_spec(key), spec)) {
        why = "a key of another spec";
        rv = APR_ENOENT;
    }
    if (rv == APR_SUCCESS || !create) {
        if (rv == APR_SUCCESS) {
            *pkey = key;
        }
        else if (perr) {
            *perr = why;
        }
        return rv;
    }
    if (!APR_STATUS_IS_ENOENT(rv) || key != NULL) {
        acme_log(ACME_LOG_WARNING, rv, "ACME0880 acme[md=%s]: the staged %s is not usable (%s),"
                 " making a new key", md, aspect, why ? why : "?");
    }
    return key_make(pkey, p, baton, ACME_STORE_STAGING, md, aspect, spec, 0, perr);
}

static apr_status_t local_csr(const unsigned char **pder, apr_size_t *plen, apr_pool_t *p,
                              void *baton, const char *md, const acme_pkey_spec_t *spec,
                              const apr_array_header_t *names, unsigned int flags,
                              const char **perr)
{
    acme_pkey_t *key;
    apr_status_t rv;

    if ((rv = local_domain_key(&key, p, baton, md, spec, 0, perr)) != APR_SUCCESS) {
        return rv;
    }
    rv = acme_csr_create(pder, plen, p, acme_pkey_get_evp(key), names, flags);
    if (rv != APR_SUCCESS && perr) {
        *perr = "the CSR cannot be made";
    }
    return rv;
}

static const acme_keys_ops_t local_ops = {
    "local", local_account_key, local_eab, local_domain_key, local_csr
};

acme_keys_t *acme_keys_local(apr_pool_t *p, acme_store_t *store)
{
    keys_local_t *kl = apr_pcalloc(p, sizeof(*kl));

    kl->store = store;
    kl->cache = acme_pkey_cache_create(p, KEYS_LOCAL_CACHE_MAX, key_decode, store);
    return acme_keys_create(p, &local_ops, kl);
}
