/* What a TLS server presented against the activated chain (see
 * acme_chain_presented.h). */
#include <string.h>

#include <apr_strings.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "acme_cert.h"
#include "acme_chain_presented.h"

/* "sha256 ab12cd34..." of a certificate, for messages. */
static const char *short_id(apr_pool_t *p, const X509 *cert)
{
    const char *hex = NULL;

    if (acme_cert_get_sha256_hex(&hex, p, cert) != APR_SUCCESS || hex == NULL) {
        return "(unreadable)";
    }
    return apr_psprintf(p, "sha256 %.16s...", hex);
}

/* The presented certificates must start with the expected ones. */
static const char *sequence_why(apr_pool_t *p, const acme_cert_chain_t *expected,
                                STACK_OF(X509) *presented)
{
    int i, n = acme_chain_count(expected), got = sk_X509_num(presented);

    for (i = 0; i < n; ++i) {
        X509 *want = acme_chain_get(expected, i);

        if (i >= got) {
            return apr_psprintf(p, "the presented chain has %d certificate(s), the "
                                "activated one %d (issuers missing)", got, n);
        }
        if (X509_cmp(want, sk_X509_value(presented, i)) != 0) {
            if (i == 0) {
                const char *subject = NULL;

                acme_cert_get_subject(&subject, p, sk_X509_value(presented, 0));
                return apr_psprintf(p, "presents another certificate (%s, %s), not the "
                                    "activated one (%s)", short_id(p, sk_X509_value(presented, 0)),
                                    subject ? subject : "?", short_id(p, want));
            }
            return apr_psprintf(p, "certificate %d of the presented chain (%s) is not the "
                                "activated chain's (%s)", i + 1,
                                short_id(p, sk_X509_value(presented, i)), short_id(p, want));
        }
    }
    return NULL;
}

static const char *verify_why(apr_pool_t *p, const acme_cert_chain_t *expected,
                              STACK_OF(X509) *presented, const char *host, apr_time_t now)
{
    X509 *anchor = acme_chain_get(expected, acme_chain_count(expected) - 1);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_VERIFY_PARAM *param;
    const char *why = NULL;
    int err;

    if (store == NULL || ctx == NULL || !X509_STORE_add_cert(store, anchor)
        || !X509_STORE_CTX_init(ctx, store, sk_X509_value(presented, 0), presented)) {
        why = "cannot set up the verification (out of memory?)";
        goto cleanup;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_USE_CHECK_TIME);
    X509_VERIFY_PARAM_set_time(param, (time_t)apr_time_sec(now));
    if (host && !X509_VERIFY_PARAM_set1_host(param, host, 0)) {
        why = apr_psprintf(p, "cannot check the name %s", host);
        goto cleanup;
    }
    if (X509_verify_cert(ctx) != 1) {
        err = X509_STORE_CTX_get_error(ctx);
        why = apr_psprintf(p, "the presented chain does not verify up to the activated "
                           "chain's top issuer: %s (certificate %d)",
                           X509_verify_cert_error_string(err),
                           X509_STORE_CTX_get_error_depth(ctx) + 1);
    }
cleanup:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return why;
}

apr_status_t acme_chain_presented_check(const char **pwhy, apr_pool_t *p,
                                        const acme_cert_chain_t *expected,
                                        STACK_OF(X509) *presented, const char *host,
                                        apr_time_t now)
{
    const char *why;

    if (expected == NULL || acme_chain_count(expected) == 0) {
        *pwhy = "no activated chain to compare with";
        return APR_EINVAL;
    }
    if (presented == NULL || sk_X509_num(presented) == 0) {
        *pwhy = "no certificate presented";
        return APR_EINVAL;
    }
    why = sequence_why(p, expected, presented);
    if (why == NULL) {
        why = verify_why(p, expected, presented, host, now);
    }
    if (why) {
        *pwhy = why;
        return APR_EMISMATCH;
    }
    return APR_SUCCESS;
}
