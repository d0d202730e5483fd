/* Key custody: the dispatch, see acme_keys.h. */
#include <errno.h>

#include "acme_keys.h"

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
