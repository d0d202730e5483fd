/* Key custody in this process: keys in the store, see acme_keys.h. Sealing
 * for the shared store (issue 18) when made with a seal key. */
#include <string.h>

#include <apr_strings.h>

#include "acme_csr.h"
#include "acme_jws.h"
#include "acme_keys.h"
#include "acme_layout.h"
#include "acme_log.h"
#include "acme_names.h"
#include "acme_pkey_cache.h"
#include "acme_store_pkey.h"

/* Decoded keys kept: the account keys in use and the staged keys of the
 * domains being renewed at once. */
#define KEYS_LOCAL_CACHE_MAX 32

typedef struct {
    acme_store_t *store;
    acme_pkey_cache_t *cache;   /* decoded keys by their PEM (encrypted ones cost
                                 * a PBKDF2 derivation each) */
    const acme_seal_key_t *seal_key;    /* SECRET, borrowed; NULL: no sealing */
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

/* `key` saved as (group, name, aspect), as every key of the custody is:
 * encrypted with the store key where the group's keys are, ACME_STORE_PRIVATE. */
static apr_status_t key_save(acme_pkey_t **pkey, apr_pool_t *p, keys_local_t *kl,
                             acme_store_group_e group, const char *name, const char *aspect,
                             acme_pkey_t *key, int excl, const char **perr)
{
    const char *pem;
    apr_size_t len;
    apr_status_t rv;

    if ((rv = acme_store_pkey_to_pem(&pem, &len, p, kl->store, group, key, perr))
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

/* A new key of `spec` saved as (group, name, aspect). */
static apr_status_t key_make(acme_pkey_t **pkey, apr_pool_t *p, keys_local_t *kl,
                             acme_store_group_e group, const char *name, const char *aspect,
                             const acme_pkey_spec_t *spec, int excl, const char **perr)
{
    acme_pkey_t *key;
    apr_status_t rv;

    if ((rv = acme_pkey_generate(&key, p, spec, perr)) != APR_SUCCESS) {
        return rv;
    }
    return key_save(pkey, p, kl, group, name, aspect, key, excl, perr);
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

/* ---- sealing for the shared store: plaintext PEM only ever lives in a pool
 * of its own, destroyed (and so wiped: acme_pkey_to_pem(), acme_seal_open())
 * before the operation returns */

static apr_status_t no_seal_key(const char **perr)
{
    if (perr) {
        *perr = "no MDSharedStoreKeyFile: keys are not sealed for a shared store";
    }
    return APR_ENOTIMPL;
}

/* The domain key a seal is for: the staged one (a renewal just made it),
 * else, with none staged, the live one: a set activated before the cluster
 * could take it is shared later (mod_acme_shared_sync.c). */
static apr_status_t seal_domain_key(acme_pkey_t **pkey, apr_pool_t *p, keys_local_t *kl,
                                    const char *md, const acme_pkey_spec_t *spec,
                                    const char **perr)
{
    const char *aspect = acme_layout_privkey(p, acme_pkey_spec_name(p, spec));
    apr_status_t rv;

    rv = key_load(pkey, p, kl, ACME_STORE_STAGING, md, aspect, perr);
    if (APR_STATUS_IS_ENOENT(rv)) {
        rv = key_load(pkey, p, kl, ACME_STORE_LIVE, md, aspect, perr);
    }
    if (rv == APR_SUCCESS && !acme_pkey_spec_eq(acme_pkey_get_spec(*pkey), spec)) {
        if (perr) {
            *perr = "a key of another spec";
        }
        rv = APR_ENOENT;
    }
    return rv;
}

static apr_status_t local_seal(const char **psealed, apr_pool_t *p, void *baton,
                               const acme_keys_which_t *which, const char *aad,
                               const char **perr)
{
    keys_local_t *kl = baton;
    const char *pem, *sealed = NULL;
    apr_size_t len, sealed_len;
    apr_pool_t *plain_pool;
    acme_pkey_t *key;
    apr_status_t rv;

    if (kl->seal_key == NULL) {
        return no_seal_key(perr);
    }
    rv = which->account_id
         ? key_load(&key, p, kl, ACME_STORE_ACCOUNTS, which->account_id,
                    ACME_ASPECT_ACCOUNT_KEY, perr)
         : seal_domain_key(&key, p, kl, which->md, which->spec, perr);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create(&plain_pool, p)) != APR_SUCCESS) {
        return rv;
    }
    /* plain PKCS#8: the store key is this server's, the seal key the cluster's */
    if ((rv = acme_pkey_to_pem(&pem, &len, plain_pool, key, NULL)) != APR_SUCCESS
        || (rv = acme_seal(&sealed, &sealed_len, p, kl->seal_key, aad,
                           (const unsigned char *)pem, len)) != APR_SUCCESS) {
        if (perr) {
            *perr = "the key cannot be sealed";
        }
    }
    apr_pool_destroy(plain_pool);
    if (rv == APR_SUCCESS) {
        *psealed = sealed;
    }
    return rv;
}

/* The private key in `sealed`, of which->spec for a domain; read from
 * plain_pool's plaintext into a key of p. */
static apr_status_t sealed_key_open(acme_pkey_t **pkey, apr_pool_t *p, apr_pool_t *plain_pool,
                                    keys_local_t *kl, const acme_keys_which_t *which,
                                    const char *sealed, const char *aad, const char **perr)
{
    const unsigned char *plain;
    const char *why = NULL;
    acme_pkey_t *key;
    apr_size_t len;
    apr_status_t rv;

    rv = acme_seal_open(&plain, &len, plain_pool, kl->seal_key, aad, sealed, strlen(sealed),
                        &why);
    if (rv != APR_SUCCESS) {
        if (perr) {
            *perr = apr_pstrcat(p, "the sealed key does not open: ", why ? why : "?", NULL);
        }
        return rv;
    }
    if (acme_pkey_from_pem(&key, p, (const char *)plain, len, NULL) != APR_SUCCESS) {
        if (perr) {
            *perr = "the sealed text is not a usable private key";
        }
        return APR_EINVAL;
    }
    if (which->account_id == NULL && !acme_pkey_spec_eq(acme_pkey_get_spec(key), which->spec)) {
        if (perr) {
            *perr = apr_psprintf(p, "the sealed key is %s, not %s",
                                 acme_pkey_spec_name(p, acme_pkey_get_spec(key)),
                                 acme_pkey_spec_name(p, which->spec));
        }
        return APR_EINVAL;
    }
    *pkey = key;
    return APR_SUCCESS;
}

static apr_status_t local_unseal(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                 const acme_keys_which_t *which, const char *sealed,
                                 const char *aad, const char **perr)
{
    keys_local_t *kl = baton;
    apr_pool_t *plain_pool;
    acme_pkey_t *key = NULL;
    const char *aspect;
    apr_status_t rv;

    if (kl->seal_key == NULL) {
        return no_seal_key(perr);
    }
    if ((rv = apr_pool_create(&plain_pool, p)) != APR_SUCCESS) {
        return rv;
    }
    rv = sealed_key_open(&key, p, plain_pool, kl, which, sealed, aad, perr);
    apr_pool_destroy(plain_pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (which->account_id) {
        /* a new account's key: never one that is in use */
        rv = key_save(pkey, p, kl, ACME_STORE_ACCOUNTS, which->account_id,
                      ACME_ASPECT_ACCOUNT_KEY, key, 1, perr);
        if (rv == APR_SUCCESS) {
            acme_log(ACME_LOG_INFO, 0, "ACME0881 acme[account=%s]: account key taken from "
                     "the shared store (%s)", which->account_id, acme_names_printable(p, aad));
        }
        return rv;
    }
    aspect = acme_layout_privkey(p, acme_pkey_spec_name(p, which->spec));
    rv = key_save(pkey, p, kl, ACME_STORE_STAGING, which->md, aspect, key, 0, perr);
    if (rv == APR_SUCCESS) {
        acme_log(ACME_LOG_INFO, 0, "ACME0882 acme[md=%s]: staged %s taken from the shared "
                 "store (%s)", which->md, aspect, acme_names_printable(p, aad));
    }
    return rv;
}

static const acme_keys_ops_t local_ops = {
    "local", local_account_key, local_eab, local_domain_key, local_csr, local_seal,
    local_unseal
};

acme_keys_t *acme_keys_local_sealing(apr_pool_t *p, acme_store_t *store,
                                     const acme_seal_key_t *seal_key)
{
    keys_local_t *kl = apr_pcalloc(p, sizeof(*kl));

    kl->store = store;
    kl->cache = acme_pkey_cache_create(p, KEYS_LOCAL_CACHE_MAX, key_decode, store);
    kl->seal_key = seal_key;
    return acme_keys_create(p, &local_ops, kl);
}

acme_pkey_cache_t *acme_keys_local_cache(const acme_keys_t *keys)
{
    keys_local_t *kl = acme_keys_baton(keys, &local_ops);

    return kl ? kl->cache : NULL;
}

acme_keys_t *acme_keys_local(apr_pool_t *p, acme_store_t *store)
{
    return acme_keys_local_sealing(p, store, NULL);
}
