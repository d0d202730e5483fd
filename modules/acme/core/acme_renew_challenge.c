/* Challenge answers in the store, see acme_renew_challenge.h. */
#include <string.h>

#include <apr_strings.h>

#include "acme_keyauth.h"
#include "acme_layout.h"
#include "acme_log.h"
#include "acme_names.h"
#include "acme_renew_challenge.h"
#include "acme_tlsalpn.h"

#define TYPE_HTTP01 "http-01"
#define TYPE_TLSALPN01 "tls-alpn-01"

int acme_renew_challenge_supported(const char *type)
{
    return type && (!strcmp(type, TYPE_HTTP01) || !strcmp(type, TYPE_TLSALPN01));
}

static apr_status_t fail_config(acme_result_t *r, apr_status_t rv, const char *msg)
{
    acme_result_fail(r, rv, "%s", msg);
    r->action = ACME_ACTION_FIX_CONFIG;
    return rv;
}

apr_status_t acme_renew_challenge_select(const acme_challenge_t **pchal,
                                         const acme_authz_t *authz,
                                         const apr_array_header_t *prefs, int dns01_ok,
                                         apr_pool_t *p, acme_result_t *r)
{
    apr_array_header_t *usable = apr_array_make(p, prefs->nelts, sizeof(const char *));
    const acme_challenge_t *chal;
    int i;

    for (i = 0; i < prefs->nelts; ++i) {
        const char *type = APR_ARRAY_IDX(prefs, i, const char *);
        if (acme_renew_challenge_supported(type)
            || (dns01_ok && type && !strcmp(type, ACME_CHALLENGE_DNS01))) {
            APR_ARRAY_PUSH(usable, const char *) = type;
        }
    }
    if ((chal = acme_authz_select_challenge(authz, usable)) != NULL) {
        *pchal = chal;
        return APR_SUCCESS;
    }
    if ((chal = acme_authz_select_challenge(authz, prefs)) != NULL) {
        return fail_config(r, APR_ENOTIMPL, apr_psprintf(p,
            "%s%s: the CA offers %s, which %s", authz->wildcard ? "*." : "",
            authz->identifier.value, chal->type, !strcmp(chal->type, ACME_CHALLENGE_DNS01)
                ? "needs a dns-01 setup command (MDChallengeDns01)" : "is not supported"));
    }
    return fail_config(r, APR_ENOTIMPL, apr_psprintf(p,
        "%s%s: the CA offers none of the configured challenge types (%s)",
        authz->wildcard ? "*." : "", authz->identifier.value,
        prefs->nelts ? apr_array_pstrcat(p, prefs, ' ') : "none configured"));
}

apr_status_t acme_renew_challenge_dns01_value(const char **pvalue, apr_pool_t *p,
                                              const acme_challenge_t *chal,
                                              const acme_pkey_t *account_key,
                                              acme_result_t *r)
{
    const char *keyauth, *why = NULL;
    apr_status_t rv;

    if ((rv = acme_keyauth_make(&keyauth, p, chal->token, account_key, &why))
        || (rv = acme_keyauth_dns01(pvalue, p, keyauth, &why))) {
        return acme_result_fail(r, rv, "dns-01 answer: %s", why ? why : "?");
    }
    return APR_SUCCESS;
}

static apr_status_t save(acme_store_t *store, apr_pool_t *p, const char *identifier,
                         const char *aspect, const char *data, apr_size_t len, int flags,
                         acme_result_t *r)
{
    apr_status_t rv = acme_store_save(store, p, ACME_STORE_CHALLENGES, identifier, aspect,
                                      data, len, flags);

    if (rv != APR_SUCCESS) {
        acme_result_fail(r, rv, "saving the challenge answer %s for %s", aspect, identifier);
        r->action = ACME_ACTION_RETRY;
    }
    return rv;
}

/* The RFC 8737 certificate and its fresh key. */
static apr_status_t tlsalpn_setup(acme_store_t *store, apr_pool_t *p, const char *identifier,
                                  const char *keyauth, acme_result_t *r)
{
    acme_pkey_spec_t spec = { ACME_PKEY_EC, 0, ACME_PKEY_P256 };
    unsigned char digest[ACME_TLSALPN_DIGEST_LEN];
    const char *key_pem, *cert_pem, *why = NULL;
    acme_pkey_t *key;
    apr_size_t key_len;
    X509 *cert;
    apr_status_t rv;

    if ((rv = acme_pkey_generate(&key, p, &spec, &why))
        || (rv = acme_pkey_to_pem(&key_pem, &key_len, p, key, &why))) {
        return acme_result_fail(r, rv, "tls-alpn-01 key for %s: %s", identifier, why);
    }
    if ((rv = acme_tlsalpn_digest(digest, keyauth))
        || (rv = acme_tlsalpn_cert_create(&cert, &cert_pem, p, acme_pkey_get_evp(key),
                                          identifier, digest))) {
        return acme_result_fail(r, rv, "tls-alpn-01 certificate for %s", identifier);
    }
    /* The key first: a responder that finds the new certificate finds its key. */
    if ((rv = save(store, p, identifier, ACME_ASPECT_TLSALPN_KEY, key_pem, key_len,
                   ACME_STORE_SECRET, r))) {
        return rv;
    }
    return save(store, p, identifier, ACME_ASPECT_TLSALPN_CERT, cert_pem, strlen(cert_pem),
                0, r);
}

apr_status_t acme_renew_challenge_setup(acme_store_t *store, apr_pool_t *p,
                                        const acme_authz_t *authz,
                                        const acme_challenge_t *chal,
                                        const acme_pkey_t *account_key, acme_result_t *r)
{
    const char *id = authz->identifier.value, *keyauth, *why = NULL;
    apr_status_t rv;

    if (!acme_renew_challenge_supported(chal->type)) {
        return fail_config(r, APR_ENOTIMPL, apr_psprintf(p,
            "%s: challenge type %s is not supported yet", id, chal->type));
    }
    if (acme_names_check_domain(id, 0) != APR_SUCCESS) {
        return fail_config(r, APR_EINVAL, apr_psprintf(p,
            "%s: cannot keep a challenge answer for this identifier (not a name the"
            " store accepts)", acme_names_printable(p, id)));
    }
    if ((rv = acme_keyauth_make(&keyauth, p, chal->token, account_key, &why))) {
        return acme_result_fail(r, rv, "%s: %s", id, why);
    }
    acme_log(ACME_LOG_DEBUG, 0, "ACME0870 acme[challenge=%s]: answering %s", id, chal->type);
    if (!strcmp(chal->type, TYPE_HTTP01)) {
        return save(store, p, id, acme_layout_http01(p, chal->token), keyauth,
                    strlen(keyauth), 0, r);
    }
    return tlsalpn_setup(store, p, id, keyauth, r);
}

static apr_status_t remove_aspect(acme_store_t *store, apr_pool_t *p, const char *identifier,
                                  const char *aspect)
{
    apr_status_t rv = acme_store_remove(store, p, ACME_STORE_CHALLENGES, identifier, aspect);

    return rv == APR_ENOENT ? APR_SUCCESS : rv;
}

apr_status_t acme_renew_challenge_remove(acme_store_t *store, apr_pool_t *p,
                                         const char *identifier, const char *type,
                                         const char *token)
{
    apr_status_t rv;

    if (!strcmp(type, TYPE_HTTP01)) {
        if (!acme_keyauth_token_is_valid(token)) {
            return APR_EINVAL;
        }
        return remove_aspect(store, p, identifier, acme_layout_http01(p, token));
    }
    if (!strcmp(type, TYPE_TLSALPN01)) {
        rv = remove_aspect(store, p, identifier, ACME_ASPECT_TLSALPN_CERT);
        if (rv == APR_SUCCESS) {
            rv = remove_aspect(store, p, identifier, ACME_ASPECT_TLSALPN_KEY);
        }
        return rv;
    }
    return APR_SUCCESS;   /* nothing was written for other types */
}
