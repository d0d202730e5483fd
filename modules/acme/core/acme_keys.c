/* Key custody: the dispatch, see acme_keys.h. */
#include <errno.h>

#include <apr_strings.h>

#include "acme_keys.h"
#include "acme_layout.h"

struct acme_keys_t {
    const acme_keys_ops_t *ops;
    void *baton;
};

acme_keys_t *acme_keys_create(apr_pool_t *p, const acme_keys_ops_t *ops, void *baton)
{
    acme_keys_t *keys = apr_pcalloc(p, sizeof(*keys));

    keys->ops = ops;
    keys->baton = baton;
    return keys;
}

void *acme_keys_baton(const acme_keys_t *keys, const acme_keys_ops_t *ops)
{
    return keys && keys->ops == ops ? keys->baton : NULL;
}

static apr_status_t keys_fail(const char **perr, apr_status_t rv, const char *why)
{
    if (perr) {
        *perr = why;
    }
    return rv;
}

apr_status_t acme_keys_account_key(acme_pkey_t **pkey, apr_pool_t *p, acme_keys_t *keys,
                                   const char *account_id, int create, const char **perr)
{
    if (account_id == NULL || *account_id == '\0') {
        return keys_fail(perr, APR_EINVAL, "no account id");
    }
    return keys->ops->account_key(pkey, p, keys->baton, account_id, create, perr);
}

apr_status_t acme_keys_eab(json_t **pjws, apr_pool_t *p, acme_keys_t *keys,
                           const char *account_id, const char *eab_kid, const char *eab_hmac,
                           const char *url, const char **perr)
{
    if (account_id == NULL || eab_kid == NULL || url == NULL) {
        return keys_fail(perr, APR_EINVAL, "EAB needs an account, a key id and a URL");
    }
    return keys->ops->eab(pjws, p, keys->baton, account_id, eab_kid, eab_hmac, url, perr);
}

apr_status_t acme_keys_domain_key(acme_pkey_t **pkey, apr_pool_t *p, acme_keys_t *keys,
                                  const char *md, const acme_pkey_spec_t *spec, int create,
                                  const char **perr)
{
    if (md == NULL || *md == '\0' || spec == NULL) {
        return keys_fail(perr, APR_EINVAL, "no domain or key spec");
    }
    return keys->ops->domain_key(pkey, p, keys->baton, md, spec, create, perr);
}

apr_status_t acme_keys_csr(const unsigned char **pder, apr_size_t *plen, apr_pool_t *p,
                           acme_keys_t *keys, const char *md, const acme_pkey_spec_t *spec,
                           const apr_array_header_t *names, unsigned int flags,
                           const char **perr)
{
    if (md == NULL || *md == '\0' || spec == NULL || names == NULL || names->nelts == 0) {
        return keys_fail(perr, APR_EINVAL, "a CSR needs a domain, a key spec and names");
    }
    return keys->ops->csr(pder, plen, p, keys->baton, md, spec, names, flags, perr);
}

const char *acme_keys_seal_aad_domain(apr_pool_t *p, const char *md,
                                      const acme_pkey_spec_t *spec)
{
    return apr_pstrcat(p, "set/", md, "/",
                       acme_layout_privkey(p, acme_pkey_spec_name(p, spec)), NULL);
}

const char *acme_keys_seal_aad_account(apr_pool_t *p, const char *name)
{
    return apr_pstrcat(p, ACME_KEYS_SEAL_AAD_ACCOUNT, name, NULL);
}

/* The checks every seal and unseal share. */
static apr_status_t keys_seal_args(const acme_keys_t *keys, const acme_keys_which_t *which,
                                   const char *aad, const char **perr)
{
    if (which->account_id ? *which->account_id == '\0'
                          : which->md == NULL || *which->md == '\0' || which->spec == NULL) {
        return keys_fail(perr, APR_EINVAL, "no account id, or no domain or key spec");
    }
    if (aad == NULL || *aad == '\0') {
        return keys_fail(perr, APR_EINVAL, "no name to bind the sealed key to");
    }
    if (keys->ops->seal == NULL || keys->ops->unseal == NULL) {
        return keys_fail(perr, APR_ENOTIMPL, "this key custody does not seal keys");
    }
    return APR_SUCCESS;
}

static apr_status_t keys_seal(const char **psealed, apr_pool_t *p, acme_keys_t *keys,
                              const acme_keys_which_t *which, const char *aad,
                              const char **perr)
{
    apr_status_t rv = keys_seal_args(keys, which, aad, perr);

    return rv != APR_SUCCESS ? rv : keys->ops->seal(psealed, p, keys->baton, which, aad, perr);
}

static apr_status_t keys_unseal(acme_pkey_t **pkey, apr_pool_t *p, acme_keys_t *keys,
                                const acme_keys_which_t *which, const char *sealed,
                                const char *aad, const char **perr)
{
    apr_status_t rv = keys_seal_args(keys, which, aad, perr);

    if (rv == APR_SUCCESS && (sealed == NULL || *sealed == '\0')) {
        rv = keys_fail(perr, APR_EINVAL, "no sealed text");
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return keys->ops->unseal(pkey, p, keys->baton, which, sealed, aad, perr);
}

apr_status_t acme_keys_seal_account_key(const char **psealed, apr_pool_t *p, acme_keys_t *keys,
                                        const char *account_id, const char *aad,
                                        const char **perr)
{
    acme_keys_which_t which = { account_id ? account_id : "", NULL, NULL };

    return keys_seal(psealed, p, keys, &which, aad, perr);
}

apr_status_t acme_keys_seal_domain_key(const char **psealed, apr_pool_t *p, acme_keys_t *keys,
                                       const char *md, const acme_pkey_spec_t *spec,
                                       const char *aad, const char **perr)
{
    acme_keys_which_t which = { NULL, md, spec };

    return keys_seal(psealed, p, keys, &which, aad, perr);
}

apr_status_t acme_keys_unseal_account_key(acme_pkey_t **pkey, apr_pool_t *p, acme_keys_t *keys,
                                          const char *account_id, const char *sealed,
                                          const char *aad, const char **perr)
{
    acme_keys_which_t which = { account_id ? account_id : "", NULL, NULL };

    return keys_unseal(pkey, p, keys, &which, sealed, aad, perr);
}

apr_status_t acme_keys_unseal_domain_key(acme_pkey_t **pkey, apr_pool_t *p, acme_keys_t *keys,
                                         const char *md, const acme_pkey_spec_t *spec,
                                         const char *sealed, const char *aad,
                                         const char **perr)
{
    acme_keys_which_t which = { NULL, md, spec };

    return keys_unseal(pkey, p, keys, &which, sealed, aad, perr);
}

int acme_keys_unreachable(apr_status_t rv)
{
    return APR_STATUS_IS_ECONNREFUSED(rv) || APR_STATUS_IS_ECONNRESET(rv)
           || rv == APR_FROM_OS_ERROR(EPIPE) || APR_STATUS_IS_ENOENT(rv)
           || APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EOF(rv);
}

const char *acme_keys_kind(const acme_keys_t *keys)
{
    return keys->ops->kind;
}
