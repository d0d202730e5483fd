/* Private keys at rest in the store, as mod_md keeps them: in the groups
 * httpd's User can read (ACCOUNTS, STAGING) encrypted with the store key
 * (acme_store_secret_key(): mod_md's md_store.json key), elsewhere plain
 * (LIVE keys are root's and read by mod_ssl as they are). Reading decrypts
 * what is encrypted and takes a plain key as it is, so sets and accounts
 * written by either module, or before, read alike. */
#ifndef ACME_STORE_PKEY_H
#define ACME_STORE_PKEY_H

#include "acme_pkey.h"
#include "acme_store.h"

/* True for the groups whose keys are written encrypted. */
int acme_store_pkey_encrypts(acme_store_group_e group);

/* The PEM to save as a key of `group`: encrypted with the store key where
 * acme_store_pkey_encrypts(group) and the store has a key. Errors as
 * acme_pkey_to_pem(). The PEM is wiped with p. */
apr_status_t acme_store_pkey_to_pem(const char **ppem, apr_size_t *plen, apr_pool_t *p,
                                    acme_store_t *store, acme_store_group_e group,
                                    const acme_pkey_t *key, const char **perr);

/* A key read from the store: decrypted with the store key when encrypted.
 * Errors as acme_pkey_from_pem_pass(). */
apr_status_t acme_store_pkey_from_pem(acme_pkey_t **pkey, apr_pool_t *p, acme_store_t *store,
                                      const char *pem, apr_size_t len, const char **perr);

#endif /* ACME_STORE_PKEY_H */
