/* ACME accounts (RFC 8555 7.3): registration (with External Account Binding),
 * lookup by key, update, key rollover and deactivation.
 *
 * All operations work on the account the client holds: its key must be set
 * (acme_client_set_account(c, key, NULL) before registering); registration
 * and lookup set the account URL ("kid") in the client, a key rollover sets
 * the new key. Account objects from the CA are validated (status from the
 * RFC's set, contacts strings, orders an absolute http(s) URL).
 *
 * Errors as in acme_client.h. A missing account on lookup is ACME_EPROBLEM
 * with acme_result_is(r, "accountDoesNotExist"). A CA that requires EAB when
 * none is configured is refused before anything is sent: APR_EINVAL with
 * action FIX_CONFIG. */
#ifndef ACME_ACCOUNT_H
#define ACME_ACCOUNT_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "acme_client.h"
#include "acme_keys.h"
#include "acme_pkey.h"
#include "acme_result.h"

/* Bound on contacts accepted from the CA. */
#define ACME_ACCOUNT_MAX_CONTACTS 32

typedef enum {
    ACME_ACCOUNT_VALID,
    ACME_ACCOUNT_DEACTIVATED,
    ACME_ACCOUNT_REVOKED
} acme_account_status_e;

typedef struct acme_account_t {
    const char *url;                 /* the account URL ("kid") */
    acme_account_status_e status;
    apr_array_header_t *contacts;    /* const char *, never NULL */
    const char *orders;              /* URL or NULL (not every CA sends it) */
    int created;                     /* registration: 1 when the CA made it now */
} acme_account_t;

/* What to register with. Strings are borrowed for the call. */
typedef struct acme_account_params_t {
    const apr_array_header_t *contacts;  /* const char * ("mailto:..."), or NULL */
    int agree_tos;                       /* sends termsOfServiceAgreed: true */
    const char *eab_kid;                 /* External Account Binding key id... */
    const char *eab_hmac;                /* ...and its base64url HMAC key */
    acme_keys_t *keys;                   /* the custody that binds with EAB
                                          * (acme_keys_eab()), or NULL: the
                                          * client's key is MACed here
                                          * (acme-cli) */
    const char *account_id;              /* the account of the client's key in
                                          * `keys` (with keys only) */
} acme_account_params_t;

/* Parses an account object; `url` (may be NULL) is the account URL known
 * from the Location header or the request. */
apr_status_t acme_account_from_json(acme_account_t **pacct, apr_pool_t *p,
                                    const json_t *json, const char *url, acme_result_t *r);

/* "valid", "deactivated", "revoked". */
const char *acme_account_status_name(acme_account_status_e status);

/* newAccount with the client's key. An existing account for that key is
 * returned as well (created = 0); a deactivated or revoked one is an
 * error. Sets the client's kid on success. */
apr_status_t acme_account_register(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                                   const acme_account_params_t *params, acme_result_t *r);

/* newAccount with onlyReturnExisting: finds the account of the client's key
 * without creating one. Sets the client's kid on success. */
apr_status_t acme_account_find(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                               acme_result_t *r);

/* Fetches the account object (POST-as-GET to the account URL). */
apr_status_t acme_account_fetch(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                                acme_result_t *r);

/* Replaces the account's contacts (may be empty). */
apr_status_t acme_account_update_contacts(acme_account_t **pacct, apr_pool_t *p,
                                          acme_client_t *c,
                                          const apr_array_header_t *contacts,
                                          acme_result_t *r);

/* Deactivates the account for good (RFC 8555 7.3.6). */
apr_status_t acme_account_deactivate(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                                     acme_result_t *r);

/* Rolls the account over to `new_key` (RFC 8555 7.3.5): the outer JWS is
 * signed with the current key, the inner one with the new key. On success
 * the client signs with `new_key` from now on (borrowed: it must outlive the
 * client). The CA answers 409 when another account already has that key. */
apr_status_t acme_account_key_change(acme_client_t *c, apr_pool_t *p,
                                     const acme_pkey_t *new_key, acme_result_t *r);

#endif /* ACME_ACCOUNT_H */
