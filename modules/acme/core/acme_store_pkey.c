/* Private keys at rest in the store, see acme_store_pkey.h. */
#include "acme_store_pkey.h"

int acme_store_pkey_encrypts(acme_store_group_e group)
{
    return group == ACME_STORE_ACCOUNTS || group == ACME_STORE_STAGING;
}

apr_status_t acme_store_pkey_to_pem(const char **ppem, apr_size_t *plen, apr_pool_t *p,
                                    acme_store_t *store, acme_store_group_e group,
                                    const acme_pkey_t *key, const char **perr)
{
    const unsigned char *pass = NULL;
    apr_size_t pass_len = 0;

    if (!acme_store_pkey_encrypts(group)
        || acme_store_secret_key(&pass, &pass_len, store) != APR_SUCCESS) {
        pass = NULL;
        pass_len = 0;
    }
    return acme_pkey_to_pem_pass(ppem, plen, p, key, pass, pass_len, perr);
}

apr_status_t acme_store_pkey_from_pem(acme_pkey_t **pkey, apr_pool_t *p, acme_store_t *store,
                                      const char *pem, apr_size_t len, const char **perr)
{
    const unsigned char *pass = NULL;
    apr_size_t pass_len = 0;

    if (acme_store_secret_key(&pass, &pass_len, store) != APR_SUCCESS) {
        pass = NULL;
        pass_len = 0;
    }
    return acme_pkey_from_pem_pass(pkey, p, pem, len, pass, pass_len, perr);
}
