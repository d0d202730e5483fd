/* Key custody: where private keys are made, kept and used.
 *
 * A renewal never handles a private key itself: it asks a custody for
 *   - the account key of an account id (to sign its JWS requests; made once,
 *     when the account is created),
 *   - the External Account Binding of a new account (the HMAC is a secret),
 *   - the staged domain key of one key spec of a domain (made once per staged
 *     set) and the CSR for it,
 *   - for the cluster's shared store (issue 18, docs/cluster.md): an account
 *     key or a staged key sealed (acme_seal.h) under MDSharedStoreKeyFile's
 *     key, and such a sealed key opened and installed in the store.
 * Two custodies implement the same operations:
 *   local   acme_keys_local.c: keys in the store, used in this process. The
 *           unit tests, acme-cli and the key holder process use it.
 *   remote  acme_keys_remote.c: a key holder process over a Unix socket
 *           (acme_keyholder.h). httpd's children run the renewals with it and
 *           never hold a private key: the keys it returns are public halves
 *           whose JWS signatures the key holder makes (acme_pkey_set_signer).
 *
 * Where the keys are (the store, mod_md's layout; acme_layout.h names):
 *   ACCOUNTS/<id>/account.pem         the account key
 *   STAGING/<md>/privkey[.<spec>].pem the staged domain key of a key spec
 * both PKCS#8 encrypted with the store key (acme_store_pkey.h), saved
 * ACME_STORE_PRIVATE: owned by the process that writes them (root, in the key
 * holder), mode 0600, never given to httpd's User with the rest of the group.
 * A key file that is not ACME_STORE_PRIVATE-safe (another owner, more than one
 * link, readable by others) is not used: load gives APR_EACCES, create makes a
 * new key in its place.
 *
 * Errors: an apr_status_t and, when `perr` is not NULL, a one-line reason from
 * `p` that never contains key material. APR_ENOENT: no such key (create == 0).
 * APR_EEXIST: create of an account key that exists. APR_EINVAL: bad input, a
 * damaged key, or (remote) a request the key holder refuses. APR_EACCES: a key
 * file that is not private. APR_ENOTIMPL: seal or unseal by a custody without
 * a seal key (no MDSharedStoreKeyFile). The ACME_SEAL_E* codes (acme_seal.h):
 * a sealed text that does not open. Remote only: APR_ECONNREFUSED / APR_TIMEUP /
 * APR_EOF when the key holder cannot be reached or answered nothing: the
 * caller retries later (the key holder is restarted by httpd's parent).
 *
 * Thread safety: one custody may be used by several threads at once. */
#ifndef ACME_KEYS_H
#define ACME_KEYS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "acme_pkey.h"
#include "acme_pkey_cache.h"
#include "acme_seal.h"
#include "acme_store.h"

typedef struct acme_keys_t acme_keys_t;

/* The private key a seal or unseal is about: the account key of account_id
 * when it is set, else the staged key of `spec` of `md`. */
typedef struct acme_keys_which_t {
    const char *account_id;
    const char *md;
    const acme_pkey_spec_t *spec;
} acme_keys_which_t;

typedef struct acme_keys_ops_t {
    const char *kind;   /* "local", "remote": for log lines */
    apr_status_t (*account_key)(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                                const char *account_id, int create, const char **perr);
    apr_status_t (*eab)(json_t **pjws, apr_pool_t *p, void *baton, const char *account_id,
                        const char *eab_kid, const char *eab_hmac, const char *url,
                        const char **perr);
    apr_status_t (*domain_key)(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                               const char *md, const acme_pkey_spec_t *spec, int create,
                               const char **perr);
    apr_status_t (*csr)(const unsigned char **pder, apr_size_t *plen, apr_pool_t *p,
                        void *baton, const char *md, const acme_pkey_spec_t *spec,
                        const apr_array_header_t *names, unsigned int flags,
                        const char **perr);
    /* NULL in a custody that does not seal: APR_ENOTIMPL */
    apr_status_t (*seal)(const char **psealed, apr_pool_t *p, void *baton,
                         const acme_keys_which_t *which, const char *aad, const char **perr);
    apr_status_t (*unseal)(acme_pkey_t **pkey, apr_pool_t *p, void *baton,
                           const acme_keys_which_t *which, const char *sealed,
                           const char *aad, const char **perr);
} acme_keys_ops_t;

/* For implementations: wraps `ops` and `baton` (both outlive p). */
acme_keys_t *acme_keys_create(apr_pool_t *p, const acme_keys_ops_t *ops, void *baton);

/* For implementations: the baton of `keys` when they were made with `ops`,
 * else NULL. */
void *acme_keys_baton(const acme_keys_t *keys, const acme_keys_ops_t *ops);

/* The custody of the keys of `store` in this process (keys decoded once per
 * PEM are kept, see acme_pkey_cache.h). */
acme_keys_t *acme_keys_local(apr_pool_t *p, acme_store_t *store);

/* acme_keys_local() that also seals and unseals with `seal_key` (borrowed:
 * it must live as long as the custody; NULL: as acme_keys_local(), whose
 * seal and unseal fail with APR_ENOTIMPL, "no MDSharedStoreKeyFile"). Only
 * the key holder (and the admin's tools, and tests) hold a seal key. */
acme_keys_t *acme_keys_local_sealing(apr_pool_t *p, acme_store_t *store,
                                     const acme_seal_key_t *seal_key);

/* The cache of decoded keys of a custody made by acme_keys_local*(), NULL
 * for any other. A caller that holds keys decoded already (a fuzz target
 * making a custody per input) puts them there with acme_pkey_cache_put(). */
acme_pkey_cache_t *acme_keys_local_cache(const acme_keys_t *keys);

/* The account key of `account_id` (ACCOUNTS/<id>/account.pem). With `create`
 * a new P-256 key is made and saved exclusively first (APR_EEXIST when the
 * account has a key already). The key signs JWS (acme_jws.h); from a remote
 * custody it is the public half, signing through the key holder. */
apr_status_t acme_keys_account_key(acme_pkey_t **pkey, apr_pool_t *p, acme_keys_t *keys,
                                   const char *account_id, int create, const char **perr);

/* The externalAccountBinding JWS of a newAccount request (RFC 8555 7.3.4)
 * for the key of `account_id`, to `url` (the newAccount URL). The local
 * custody MACs with `eab_hmac`; the key holder ignores it and uses the HMAC
 * configured for `eab_kid` (a child never has it). */
apr_status_t acme_keys_eab(json_t **pjws, apr_pool_t *p, acme_keys_t *keys,
                           const char *account_id, const char *eab_kid, const char *eab_hmac,
                           const char *url, const char **perr);

/* The staged key of `spec` for domain `md`. create == 0: the key saved in
 * STAGING (APR_ENOENT when there is none, or it is of another spec).
 * create != 0: that key when it is usable, else a new one made and saved
 * (logged). From a remote custody the key is the public half. */
apr_status_t acme_keys_domain_key(acme_pkey_t **pkey, apr_pool_t *p, acme_keys_t *keys,
                                  const char *md, const acme_pkey_spec_t *spec, int create,
                                  const char **perr);

/* The CSR (DER, acme_csr.h) for `names` signed by the staged key of `spec`
 * of `md` (which must exist: APR_ENOENT otherwise). `flags` as
 * acme_csr_create(). The key holder only signs CSRs whose names are the
 * configured names of `md`. */
apr_status_t acme_keys_csr(const unsigned char **pder, apr_size_t *plen, apr_pool_t *p,
                           acme_keys_t *keys, const char *md, const acme_pkey_spec_t *spec,
                           const apr_array_header_t *names, unsigned int flags,
                           const char **perr);

/* Sealing for the shared store (acme_seal.h). `aad` is the name the sealed
 * text is bound to: the cluster's record and file it goes into, as the two
 * functions below write them (the key holder takes no other). Neither the
 * plaintext nor the seal key ever leaves the custody, nor is logged. */

/* "set/<md>/privkey[.<curve>].pem": the name of the staged key of `spec` of
 * `md` in the cluster's set of md (acme_layout_privkey()). */
const char *acme_keys_seal_aad_domain(apr_pool_t *p, const char *md,
                                      const acme_pkey_spec_t *spec);
/* "account/<name>": the name of an account key in the cluster (`name`, e.g.
 * acme_cluster_ca_name(), must pass acme_names_check_id() for the key
 * holder). */
const char *acme_keys_seal_aad_account(apr_pool_t *p, const char *name);
#define ACME_KEYS_SEAL_AAD_ACCOUNT "account/"

/* seal: *psealed (from p) is the sealed text of the account key of
 * `account_id`, or of the staged key of `spec` of `md` (APR_ENOENT when there
 * is none, or it is of another spec): its unencrypted PKCS#8 PEM, sealed
 * under the seal key for `aad` (the store key of this server is no part of
 * it: another server opens it with the seal key alone). */
apr_status_t acme_keys_seal_account_key(const char **psealed, apr_pool_t *p, acme_keys_t *keys,
                                        const char *account_id, const char *aad,
                                        const char **perr);
apr_status_t acme_keys_seal_domain_key(const char **psealed, apr_pool_t *p, acme_keys_t *keys,
                                       const char *md, const acme_pkey_spec_t *spec,
                                       const char *aad, const char **perr);

/* unseal: opens `sealed` (acme_seal_open() for `aad`), checks that it holds
 * a usable private key (for a domain, one of `spec`: APR_EINVAL otherwise)
 * and saves it as the custody saves keys it makes (acme_store_pkey.h,
 * ACME_STORE_PRIVATE):
 *   account   ACCOUNTS/<account_id>/account.pem, a new account's: APR_EEXIST
 *             when account_id has a key already;
 *   domain    STAGING/<md>/privkey[.<spec>].pem, replacing a staged key of
 *             that spec (the cluster's set replaces this server's).
 * Nothing is written when any check fails. *pkey (from p) is the key
 * installed; from a remote custody its public half (an account key's signs
 * through the key holder, as acme_keys_account_key()'s). */
apr_status_t acme_keys_unseal_account_key(acme_pkey_t **pkey, apr_pool_t *p, acme_keys_t *keys,
                                          const char *account_id, const char *sealed,
                                          const char *aad, const char **perr);
apr_status_t acme_keys_unseal_domain_key(acme_pkey_t **pkey, apr_pool_t *p, acme_keys_t *keys,
                                         const char *md, const acme_pkey_spec_t *spec,
                                         const char *sealed, const char *aad,
                                         const char **perr);

/* True for the errors of a key holder that could not be reached or stopped
 * answering (ECONNREFUSED, ECONNRESET, EPIPE, ENOENT, APR_TIMEUP, APR_EOF):
 * httpd's parent starts it again, so the caller retries (a JWS that could
 * not be signed is no reason to give an order up). */
int acme_keys_unreachable(apr_status_t rv);

/* "local" or "remote". */
const char *acme_keys_kind(const acme_keys_t *keys);

#endif /* ACME_KEYS_H */
