/* ACME accounts kept in the store, shared by every domain that uses the same
 * CA with the same contact and EAB key id.
 *
 * An account is the ACCOUNTS name "ACME-<ca host>-NNNN" holding, as mod_md
 * keeps them (the store is shared with it),
 *   account.json  {"status": "valid", "url", "ca-url", "contact": [...],
 *                 "eab": {"kid"}, "created"}: no secret
 *   account.pem   the account key, PKCS#8 PEM encrypted with the store key
 *                 (acme_store_secret_key()), made, kept and used by the key
 *                 custody (acme_keys.h): this file never reads it
 * mod_md's accounts are used as they are (their "eab.hmac" is ignored);
 * mod_acme's first account.json ({"contact": "...", "eab-kid"}, a plain
 * key) is still read.
 * An account whose key the custody cannot give (missing, damaged, under
 * another passphrase, not private) is skipped when looking for an account,
 * like one whose account.json is damaged: a new account is made.
 * The key is saved before the account is registered, so a crash during
 * registration loses nothing: the next attempt registers the same key, and a
 * CA that made the account already returns it. account.json without "url" is
 * such an account that is not (or no longer) registered.
 *
 * The EAB HMAC is only used to register and never stored or logged.
 *
 * Ownership: records and keys live in the pool they were returned in. */
#ifndef ACME_ACCOUNT_STORE_H
#define ACME_ACCOUNT_STORE_H

#include <apr_errno.h>
#include <apr_pools.h>

#include "acme_client.h"
#include "acme_keys.h"
#include "acme_layout.h"
#include "acme_pkey.h"
#include "acme_result.h"
#include "acme_store.h"

#define ACME_ACCOUNT_STORE_JSON "account.json"
#define ACME_ACCOUNT_STORE_KEY ACME_ASPECT_ACCOUNT_KEY
/* The lock (group ACCOUNTS) held while an account is created or registered. */
#define ACME_ACCOUNT_STORE_LOCK "accounts"
/* Accounts per CA host are numbered 0001..ACME_ACCOUNT_STORE_MAX_PER_CA. */
#define ACME_ACCOUNT_STORE_MAX_PER_CA 9999

/* Which account is wanted. Borrowed for the call. */
typedef struct acme_account_want_t {
    const char *ca_url;     /* the CA's directory URL */
    const char *contact;    /* "mailto:a@b", a bare address (mailto: is added),
                             * or NULL */
    int tos_agreed;         /* sends termsOfServiceAgreed when registering */
    const char *eab_kid;    /* EAB key id, or NULL */
    const char *eab_hmac;   /* SECRET: EAB HMAC key (base64url), or NULL */
} acme_account_want_t;

typedef struct acme_account_record_t {
    const char *id;         /* the ACCOUNTS name */
    const char *ca_url;
    const char *contact;    /* normalized ("mailto:..."), or NULL */
    const char *eab_kid;    /* or NULL */
    const char *url;        /* the account URL, NULL while not registered */
    apr_time_t created;     /* when the record was made */
    int unusable;           /* deactivated, revoked or disabled (by mod_md) */
    acme_pkey_t *key;       /* the account key from the custody: set by
                             * acme_account_store_ensure(), NULL after load
                             * and find */
} acme_account_record_t;

/* The contact as account records keep it: "mailto:" prepended to a bare
 * address; NULL and "" give NULL. */
const char *acme_account_store_contact(apr_pool_t *p, const char *contact);

/* Removes the EAB HMAC that mod_md keeps in account.json ("eab": {"hmac"},
 * a file httpd's User can read) from every account of the store. mod_md,
 * switched back to, then registers a new account where it needs one with
 * EAB. Returns how many files were changed in *pchanged; errors are logged
 * and the other accounts still done. */
apr_status_t acme_account_store_forget_secrets(int *pchanged, apr_pool_t *p,
                                               acme_store_t *store);

/* True when `rec` is the account for `want` (same CA URL, contact, EAB kid). */
int acme_account_store_matches(const acme_account_record_t *rec,
                               const acme_account_want_t *want);

/* Loads the record of account `id` (account.json; not its key: rec->key is
 * NULL). APR_ENOENT when absent, APR_EINVAL (reason in *perr) when
 * account.json is invalid, store errors otherwise. */
apr_status_t acme_account_store_load(acme_account_record_t **prec, apr_pool_t *p,
                                     acme_store_t *store, const char *id, const char **perr);

/* Finds the record of the account for `want`, registered or not: the first
 * matching one in name order (rec->key NULL). Invalid records are skipped
 * (and logged). APR_ENOENT: none. */
apr_status_t acme_account_store_find(acme_account_record_t **prec, apr_pool_t *p,
                                     acme_store_t *store, const acme_account_want_t *want);

/* True when the custody's answer `rv` for an account key means the account
 * cannot be used (no key, a damaged or not private one), not that the custody
 * is unreachable for now. */
int acme_account_store_key_unusable(apr_status_t rv);

/* The registered account for `want`: found in the store (one whose key
 * `keys` gives), or created (a new key made by `keys` first) and registered
 * with the CA through `c`. On success rec->key is set and the client signs
 * with it (borrowed from the record, so the record's pool must outlive the
 * client's use of it).
 * Errors: APR_EBUSY with r untouched (still a success) when another job
 * holds the account lock: try again in a moment. CA and transport errors in
 * r (acme_account.h: a CA that requires EAB without one configured is
 * FIX_CONFIG; a wrong EAB HMAC is the CA's "unauthorized" or "malformed");
 * store and custody errors in r as well (RETRY). */
apr_status_t acme_account_store_ensure(acme_account_record_t **prec, apr_pool_t *p,
                                       acme_store_t *store, acme_keys_t *keys,
                                       acme_client_t *c, const acme_account_want_t *want,
                                       acme_result_t *r);

/* Forgets the account URL of `id` (the CA said accountDoesNotExist): the
 * next acme_account_store_ensure() registers its key again. */
apr_status_t acme_account_store_forget_url(acme_store_t *store, apr_pool_t *p,
                                           const char *id);

#endif /* ACME_ACCOUNT_STORE_H */
