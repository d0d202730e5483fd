/* What lives where in the store: the aspect names that the renewal job, the
 * activation, the challenge responders and the status pages agree on. They
 * are mod_md's (the store is shared with it: a server switches between the
 * two modules by its LoadModule line).
 *
 * A domain's certificate set (group LIVE, STAGING or ARCHIVE, name = the
 * domain's name) holds, per key spec (acme_pkey_spec_name(): "rsa2048",
 * "P-256", ...), with mod_md's file names:
 *   privkey.pem          the RSA key (any size: one RSA key per domain),
 *   privkey.<curve>.pem  an EC key, <curve> the SECG name ("secp256r1"),
 *                        PKCS#8 PEM, saved ACME_STORE_SECRET (in STAGING
 *                        ACME_STORE_PRIVATE, by the key custody)
 *   pubcert[.<curve>].pem  the certificate chain, leaf first
 * and once per set:
 *   md.json              what the set was issued for: {"name", "names":[...],
 *                        "pkey-specs":[...], "ca-url", "issued": RFC 3339}
 *   verified.json        the stamp of a full check (ACME_CERTSET_STAMP,
 *                        acme_certset.h): SHA-256 of each file, names, key
 *                        specs, leaf facts; a pass trusts an unchanged set
 *
 * Challenge answers (group CHALLENGES, name = the identifier being validated,
 * so the responders look them up by the requested host name):
 *   http-01.<token>      the key authorization
 *   tls-alpn-01.cert.pem the RFC 8737 certificate, tls-alpn-01.key.pem its key
 *
 * Renewal jobs (group JOBS, name = the domain's name): job.json.
 *
 * Accounts (group ACCOUNTS, name = the account id): account.json and the
 * account key account.pem (acme_account_store.h).
 *
 * The private keys of ACCOUNTS and STAGING are saved ACME_STORE_PRIVATE by the
 * key custody (acme_keys.h): never given to httpd's User. */
#ifndef ACME_LAYOUT_H
#define ACME_LAYOUT_H

#include <apr_pools.h>

#define ACME_ASPECT_MD              "md.json"
#define ACME_ASPECT_JOB             "job.json"
#define ACME_ASPECT_TLSALPN_CERT    "tls-alpn-01.cert.pem"
#define ACME_ASPECT_TLSALPN_KEY     "tls-alpn-01.key.pem"
#define ACME_ASPECT_ACCOUNT_KEY     "account.pem"

/* "privkey.pem" for RSA specs, "privkey.secp256r1.pem" for "P-256", ... */
const char *acme_layout_privkey(apr_pool_t *p, const char *spec_name);
/* "pubcert.pem" for RSA specs, "pubcert.secp256r1.pem" for "P-256", ... */
const char *acme_layout_pubcert(apr_pool_t *p, const char *spec_name);
/* True for the aspects that are private keys of the key custody:
 * "account.pem" and "privkey.pem", "privkey.<suffix>.pem" (a store walk
 * leaves them to their owner). */
int acme_layout_is_private_key(const char *aspect);
/* "http-01.<token>"; the token must have passed acme_keyauth_token_is_valid(). */
const char *acme_layout_http01(apr_pool_t *p, const char *token);

#endif /* ACME_LAYOUT_H */
