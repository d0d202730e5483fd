/* ACME accounts: see acme_account.h. */
#include <string.h>

#include <apr_strings.h>

#include "acme_account.h"
#include "acme_json.h"
#include "acme_jwk.h"
#include "acme_jws.h"
#include "acme_log.h"

static const char *const status_names[] = { "valid", "deactivated", "revoked" };

const char *acme_account_status_name(acme_account_status_e status)
{
    return (unsigned)status < sizeof(status_names) / sizeof(status_names[0])
               ? status_names[status] : "unknown";
}

static apr_status_t parse_status(acme_account_status_e *pstatus, const char *s)
{
    unsigned i;

    for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); ++i) {
        if (strcmp(s, status_names[i]) == 0) {
            *pstatus = (acme_account_status_e)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

apr_status_t acme_account_from_json(acme_account_t **pacct, apr_pool_t *p,
                                    const json_t *json, const char *url, acme_result_t *r)
{
    acme_account_t *acct = apr_pcalloc(p, sizeof(*acct));
    const char *status, *why = NULL;
    apr_status_t rv;

    if ((rv = acme_json_get_string(&status, p, json, "status", &why))
        || (rv = acme_json_get_strings_opt(&acct->contacts, p, json, "contact", &why))
        || (rv = acme_json_get_string_opt(&acct->orders, p, json, "orders", &why))) {
        return acme_result_fail(r, rv, "account object: %s", why);
    }
    if (parse_status(&acct->status, status) != APR_SUCCESS) {
        return acme_result_fail(r, APR_EINVAL, "account object: unknown status '%.64s'",
                                status);
    }
    if (acct->orders && acme_json_check_url(acct->orders, &why) != APR_SUCCESS) {
        return acme_result_fail(r, APR_EINVAL, "account object: member 'orders': %s", why);
    }
    if (acct->contacts == NULL) {
        acct->contacts = apr_array_make(p, 0, sizeof(const char *));
    }
    else if (acct->contacts->nelts > ACME_ACCOUNT_MAX_CONTACTS) {
        return acme_result_fail(r, APR_EINVAL, "account object: too many contacts");
    }
    acct->url = url ? apr_pstrdup(p, url) : NULL;
    *pacct = acct;
    return APR_SUCCESS;
}

/* The newAccount payload; with EAB, the binding JWS over our public key. */
static apr_status_t new_account_payload(json_t **ppayload, apr_pool_t *p, acme_client_t *c,
                                        const acme_account_params_t *params,
                                        acme_result_t *r)
{
    const acme_directory_t *dir = acme_client_get_directory(c);
    json_t *payload = acme_json_pool_adopt(p, json_object());
    json_t *eab;
    const char *why = NULL;
    apr_status_t rv;

    if (params->contacts && params->contacts->nelts > 0) {
        json_object_set_new(payload, "contact", acme_json_strings(params->contacts));
    }
    if (params->agree_tos) {
        json_object_set_new(payload, "termsOfServiceAgreed", json_true());
    }
    if (params->eab_kid || params->eab_hmac) {
        if (params->keys) {
            rv = acme_keys_eab(&eab, p, params->keys, params->account_id, params->eab_kid,
                               params->eab_hmac, dir->new_account, &why);
        }
        else {
            rv = acme_jws_sign_eab(&eab, p, acme_client_get_key(c), params->eab_kid,
                                   params->eab_hmac, NULL, dir->new_account, &why);
        }
        if (rv != APR_SUCCESS) {
            rv = acme_result_fail(r, rv, "external account binding: %s", why ? why : "?");
            /* a bad kid or HMAC needs an admin; a custody out of reach, a retry */
            r->action = (rv == APR_EINVAL || !params->keys) ? ACME_ACTION_FIX_CONFIG
                                                           : ACME_ACTION_RETRY;
            return rv;
        }
        json_object_set_new(payload, "externalAccountBinding", eab);
    }
    else if (dir->external_account_required) {
        rv = acme_result_fail(r, APR_EINVAL, "the CA requires External Account Binding:"
                              " an EAB key id and HMAC key must be configured");
        r->action = ACME_ACTION_FIX_CONFIG;
        return rv;
    }
    *ppayload = payload;
    return APR_SUCCESS;
}

/* Sends a newAccount request and reads the answer; sets the client's kid. */
static apr_status_t new_account_post(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                                     const json_t *payload, acme_result_t *r)
{
    const acme_directory_t *dir = acme_client_get_directory(c);
    acme_http_response_t *resp = NULL;
    acme_account_t *acct = NULL;
    const char *url = NULL;
    json_t *json = NULL;
    apr_status_t rv;

    if ((rv = acme_client_post_jwk(&resp, p, c, dir->new_account, payload,
                                   acme_client_get_key(c), r))
        || (rv = acme_client_response_location(&url, p, resp, "newAccount", r))
        || (rv = acme_client_response_json(&json, p, resp, "newAccount", r))
        || (rv = acme_account_from_json(&acct, p, json, url, r))) {
        return rv;
    }
    if (acct->status != ACME_ACCOUNT_VALID) {
        return acme_result_fail(r, APR_EINVAL, "account %s is %s", url,
                                acme_account_status_name(acct->status));
    }
    acct->created = resp->status == 201;
    acme_client_set_account(c, acme_client_get_key(c), url);
    acme_log(ACME_LOG_INFO, 0, "ACME0540 acme[account=%s]: %s", url,
             acct->created ? "registered" : "found existing account");
    *pacct = acct;
    return APR_SUCCESS;
}

static apr_status_t check_key(acme_client_t *c, apr_pool_t *p, acme_result_t *r)
{
    if (acme_client_get_key(c) == NULL) {
        return acme_result_fail(r, APR_EINVAL, "no account key set");
    }
    return acme_client_get_directory(c) ? APR_SUCCESS : acme_client_load_directory(c, p, r);
}

apr_status_t acme_account_register(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                                   const acme_account_params_t *params, acme_result_t *r)
{
    json_t *payload = NULL;
    apr_status_t rv;

    if ((rv = check_key(c, p, r))
        || (rv = new_account_payload(&payload, p, c, params, r))) {
        return rv;
    }
    return new_account_post(pacct, p, c, payload, r);
}

apr_status_t acme_account_find(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                               acme_result_t *r)
{
    json_t *payload = NULL;
    apr_status_t rv;

    if ((rv = check_key(c, p, r)) != APR_SUCCESS) {
        return rv;
    }
    payload = acme_json_pool_adopt(p, json_pack("{s:b}", "onlyReturnExisting", 1));
    return new_account_post(pacct, p, c, payload, r);
}

/* POSTs `payload` (NULL: POST-as-GET) to the account URL, parses the answer. */
static apr_status_t account_post(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                                 const json_t *payload, acme_result_t *r)
{
    const char *url = acme_client_get_kid(c);
    acme_http_response_t *resp = NULL;
    json_t *json = NULL;
    apr_status_t rv;

    if (url == NULL) {
        return acme_result_fail(r, APR_EINVAL, "no account URL set");
    }
    if ((rv = acme_client_post(&resp, p, c, url, payload, r))
        || (rv = acme_client_response_json(&json, p, resp, "account", r))) {
        return rv;
    }
    return acme_account_from_json(pacct, p, json, url, r);
}

apr_status_t acme_account_fetch(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                                acme_result_t *r)
{
    return account_post(pacct, p, c, NULL, r);
}

apr_status_t acme_account_update_contacts(acme_account_t **pacct, apr_pool_t *p,
                                          acme_client_t *c,
                                          const apr_array_header_t *contacts,
                                          acme_result_t *r)
{
    json_t *payload = acme_json_pool_adopt(p, json_object());

    json_object_set_new(payload, "contact", acme_json_strings(contacts));
    return account_post(pacct, p, c, payload, r);
}

apr_status_t acme_account_deactivate(acme_account_t **pacct, apr_pool_t *p, acme_client_t *c,
                                     acme_result_t *r)
{
    json_t *payload = acme_json_pool_adopt(p, json_pack("{s:s}", "status", "deactivated"));
    acme_account_t *acct = NULL;
    apr_status_t rv;

    rv = account_post(&acct, p, c, payload, r);
    if (rv == APR_SUCCESS && acct->status != ACME_ACCOUNT_DEACTIVATED) {
        return acme_result_fail(r, APR_EINVAL, "account %s is still %s after deactivation",
                                acct->url, acme_account_status_name(acct->status));
    }
    if (rv == APR_SUCCESS) {
        acme_log(ACME_LOG_NOTICE, 0, "ACME0541 acme[account=%s]: deactivated", acct->url);
        *pacct = acct;
    }
    return rv;
}

apr_status_t acme_account_key_change(acme_client_t *c, apr_pool_t *p,
                                     const acme_pkey_t *new_key, acme_result_t *r)
{
    const acme_directory_t *dir;
    const char *kid = acme_client_get_kid(c), *why = NULL;
    acme_http_response_t *resp = NULL;
    json_t *inner;
    apr_status_t rv;

    if ((rv = check_key(c, p, r)) != APR_SUCCESS) {
        return rv;
    }
    dir = acme_client_get_directory(c);
    if (dir->key_change == NULL) {
        return acme_result_fail(r, APR_ENOTIMPL, "the CA offers no keyChange resource");
    }
    if (kid == NULL) {
        return acme_result_fail(r, APR_EINVAL, "no account URL set");
    }
    rv = acme_jws_sign_key_change(&inner, p, new_key, acme_client_get_key(c), kid,
                                  dir->key_change, &why);
    if (rv != APR_SUCCESS) {
        return acme_result_fail(r, rv, "signing the key change: %s", why);
    }
    acme_json_pool_adopt(p, inner);
    rv = acme_client_post(&resp, p, c, dir->key_change, inner, r);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    acme_client_set_account(c, new_key, kid);
    acme_log(ACME_LOG_NOTICE, 0, "ACME0542 acme[account=%s]: account key rolled over", kid);
    return APR_SUCCESS;
}
