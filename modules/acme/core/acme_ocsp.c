/* OCSP requests, responses and their storage (see acme_ocsp.h). */
#include <string.h>

#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "acme_cert.h"
#include "acme_log.h"
#include "acme_ocsp.h"
#include "acme_ossl.h"
#include "acme_pkey.h"

#define WHY(pwhy, text) do { if (pwhy) { *(pwhy) = (text); } } while (0)

const char *acme_ocsp_status_name(acme_ocsp_status_e status)
{
    switch (status) {
    case ACME_OCSP_GOOD:
        return "good";
    case ACME_OCSP_REVOKED:
        return "revoked";
    default:
        return "unknown";
    }
}

apr_status_t acme_ocsp_responder_url(const char **purl, apr_pool_t *p, X509 *cert)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    const char *url = NULL;
    int i;

    for (i = 0; urls && i < sk_OPENSSL_STRING_num(urls); ++i) {
        const char *u = sk_OPENSSL_STRING_value(urls, i);
        if (!strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8)) {
            url = apr_pstrdup(p, u);
            break;
        }
    }
    X509_email_free(urls);
    if (url == NULL) {
        return APR_ENOENT;
    }
    *purl = url;
    return APR_SUCCESS;
}

apr_status_t acme_ocsp_request_make(const unsigned char **pder, apr_size_t *plen,
                                    apr_pool_t *p, X509 *cert, X509 *issuer)
{
    OCSP_REQUEST *req = NULL;
    OCSP_CERTID *id;
    unsigned char *der = NULL;
    apr_status_t rv = APR_SUCCESS;
    int len;

    if (!(req = OCSP_REQUEST_new()) || !(id = OCSP_cert_to_id(EVP_sha1(), cert, issuer))) {
        rv = acme_ossl_fail("ACME0380 cannot make an OCSP certificate id");
        goto cleanup;
    }
    if (!OCSP_request_add0_id(req, id)) {
        OCSP_CERTID_free(id);
        rv = acme_ossl_fail("ACME0381 cannot make an OCSP request");
        goto cleanup;
    }
    if ((len = i2d_OCSP_REQUEST(req, &der)) <= 0) {
        rv = acme_ossl_fail("ACME0381 cannot make an OCSP request");
        goto cleanup;
    }
    *pder = apr_pmemdup(p, der, (apr_size_t)len);
    *plen = (apr_size_t)len;
cleanup:
    OPENSSL_free(der);
    OCSP_REQUEST_free(req);
    return rv;
}

/* The signer is the issuer itself or a responder it delegated to: the issuer
 * is the only trust anchor (an intermediate, hence PARTIAL_CHAIN), and
 * OCSP_basic_verify checks the delegation (EKU, issued by the issuer). */
static apr_status_t basic_verify(OCSP_BASICRESP *bs, X509 *issuer)
{
    X509_STORE *trust = X509_STORE_new();
    STACK_OF(X509) *certs = sk_X509_new_null();
    apr_status_t rv = APR_EMISMATCH;

    if (trust && certs && X509_STORE_add_cert(trust, issuer)
        && X509_STORE_set_flags(trust, X509_V_FLAG_PARTIAL_CHAIN)
        && sk_X509_push(certs, issuer) > 0 && OCSP_basic_verify(bs, certs, trust, 0) > 0) {
        rv = APR_SUCCESS;
    }
    ERR_clear_error();
    sk_X509_free(certs);
    X509_STORE_free(trust);
    return rv;
}

/* Status and times of the entry for `cert`, checked for sanity. */
static apr_status_t answer_fill(acme_ocsp_answer_t *a, OCSP_BASICRESP *bs, X509 *cert,
                                X509 *issuer, apr_time_t now, const char **pwhy)
{
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    int status = -1, reason = -1;
    apr_status_t rv = APR_SUCCESS;

    if (id == NULL || !OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd,
                                             &nextupd)) {
        WHY(pwhy, "the response has no answer for this certificate");
        rv = APR_EMISMATCH;
        goto cleanup;
    }
    a->status = status == V_OCSP_CERTSTATUS_GOOD ? ACME_OCSP_GOOD
              : status == V_OCSP_CERTSTATUS_REVOKED ? ACME_OCSP_REVOKED : ACME_OCSP_UNKNOWN;
    if (acme_cert_asn1_time_get(&a->this_update, thisupd) != APR_SUCCESS
        || (nextupd && acme_cert_asn1_time_get(&a->next_update, nextupd) != APR_SUCCESS)
        || (a->status == ACME_OCSP_REVOKED
            && acme_cert_asn1_time_get(&a->revoked_at, rev) != APR_SUCCESS)) {
        WHY(pwhy, "unreadable time in the response");
        rv = APR_EINVAL;
        goto cleanup;
    }
    if (a->this_update > now + ACME_OCSP_SKEW) {
        WHY(pwhy, "thisUpdate lies in the future");
        rv = ACME_OCSP_ESTALE;
    }
    else if (nextupd && a->next_update < a->this_update) {
        WHY(pwhy, "nextUpdate lies before thisUpdate");
        rv = ACME_OCSP_ESTALE;
    }
cleanup:
    OCSP_CERTID_free(id);
    ERR_clear_error();
    return rv;
}

apr_status_t acme_ocsp_answer_check(acme_ocsp_answer_t **panswer, apr_pool_t *p,
                                    const unsigned char *der, apr_size_t len, X509 *cert,
                                    X509 *issuer, apr_time_t now, const char **pwhy)
{
    const unsigned char *in = der;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    acme_ocsp_answer_t *a;
    apr_status_t rv;
    int status;

    if (len == 0 || len > ACME_OCSP_MAX_DER
        || !(resp = d2i_OCSP_RESPONSE(NULL, &in, (long)len)) || in != der + len) {
        WHY(pwhy, "not a DER OCSP response");
        rv = APR_EINVAL;
        goto cleanup;
    }
    if ((status = OCSP_response_status(resp)) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        WHY(pwhy, apr_psprintf(p, "the responder answered '%s'",
                               OCSP_response_status_str(status)));
        rv = ACME_OCSP_ESTATUS;
        goto cleanup;
    }
    if (!(bs = OCSP_response_get1_basic(resp))) {
        WHY(pwhy, "not a basic OCSP response");
        rv = APR_EINVAL;
        goto cleanup;
    }
    if (basic_verify(bs, issuer) != APR_SUCCESS) {
        WHY(pwhy, "the response is not signed by the issuer or its delegated responder");
        rv = APR_EMISMATCH;
        goto cleanup;
    }
    a = apr_pcalloc(p, sizeof(*a));
    if ((rv = answer_fill(a, bs, cert, issuer, now, pwhy)) != APR_SUCCESS) {
        goto cleanup;
    }
    a->der = apr_pmemdup(p, der, len);
    a->der_len = len;
    *panswer = a;
cleanup:
    ERR_clear_error();
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return rv;
}

int acme_ocsp_answer_is_current(const acme_ocsp_answer_t *answer, apr_time_t now,
                                apr_interval_time_t max_age)
{
    if (answer->next_update) {
        return now < answer->next_update + ACME_OCSP_SKEW;
    }
    return now - answer->this_update < max_age;
}

apr_status_t acme_ocsp_fetch(acme_ocsp_answer_t **panswer, apr_pool_t *p,
                             acme_http_transport_t *transport, const char *url, X509 *cert,
                             X509 *issuer, apr_time_t now, const char **pwhy)
{
    acme_http_request_t *req = acme_http_request_make(p, ACME_HTTP_POST, url);
    acme_http_response_t *resp;
    acme_ocsp_answer_t *a;
    const unsigned char *body;
    apr_size_t body_len;
    apr_status_t rv;

    if ((rv = acme_ocsp_request_make(&body, &body_len, p, cert, issuer)) != APR_SUCCESS) {
        WHY(pwhy, "cannot make the OCSP request");
        return rv;
    }
    req->content_type = "application/ocsp-request";
    req->body = (const char *)body;
    req->body_len = body_len;
    if ((rv = acme_http_perform(&resp, p, transport, req)) != APR_SUCCESS) {
        const char *err = acme_http_transport_error(transport);
        WHY(pwhy, apr_psprintf(p, "responder %s not reached: %s", url,
                               err && *err ? err : "transport error"));
        return rv;
    }
    if (resp->status != 200) {
        WHY(pwhy, apr_psprintf(p, "responder %s answered HTTP %d", url, resp->status));
        return ACME_OCSP_ESTATUS;
    }
    rv = acme_ocsp_answer_check(&a, p, (const unsigned char *)resp->body, resp->body_len,
                                cert, issuer, now, pwhy);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!acme_ocsp_answer_is_current(a, now, ACME_OCSP_NO_NEXT_REFRESH)) {
        WHY(pwhy, "the responder sent an answer past its nextUpdate");
        return ACME_OCSP_ESTALE;
    }
    *panswer = a;
    return APR_SUCCESS;
}

apr_time_t acme_ocsp_refresh_at(const acme_ocsp_answer_t *answer,
                                const acme_config_window_t *window)
{
    apr_interval_time_t lifetime, before;

    if (!answer->next_update) {
        return answer->this_update + ACME_OCSP_NO_NEXT_REFRESH;
    }
    lifetime = answer->next_update - answer->this_update;
    before = window->is_percent ? lifetime / 100 * window->percent : window->duration;
    if (before >= lifetime) {
        before = lifetime / 100 * 33;
    }
    return answer->next_update - before;
}

apr_status_t acme_ocsp_aspect(const char **paspect, apr_pool_t *p, X509 *cert)
{
    EVP_PKEY *evp = X509_get_pubkey(cert);
    acme_pkey_t *key;
    const char *id = NULL, *err;
    apr_status_t rv = APR_SUCCESS;

    /* by key type: a renewed certificate's response replaces the old one */
    if (evp && acme_pkey_wrap(&key, p, evp, &err) == APR_SUCCESS) {
        id = acme_pkey_spec_name(p, acme_pkey_get_spec(key));
    }
    ERR_clear_error();
    if (id == NULL) {
        rv = acme_cert_get_sha256_hex(&id, p, cert);
    }
    if (rv == APR_SUCCESS) {
        *paspect = apr_pstrcat(p, "ocsp.", id, ".der", NULL);
    }
    return rv;
}

apr_status_t acme_ocsp_store_save(acme_store_t *store, apr_pool_t *p, const char *name,
                                  X509 *cert, const acme_ocsp_answer_t *answer)
{
    const char *aspect;
    apr_status_t rv = acme_ocsp_aspect(&aspect, p, cert);

    if (rv == APR_SUCCESS) {
        rv = acme_store_save(store, p, ACME_STORE_OCSP, name, aspect, answer->der,
                             answer->der_len, 0);
    }
    return rv;
}

apr_status_t acme_ocsp_store_load(acme_ocsp_answer_t **panswer, apr_pool_t *p,
                                  acme_store_t *store, const char *name, X509 *cert,
                                  X509 *issuer, apr_time_t now, apr_interval_time_t keep)
{
    const char *aspect, *data, *why = NULL;
    acme_ocsp_answer_t *a = NULL;
    apr_size_t len;
    apr_status_t rv;

    if ((rv = acme_ocsp_aspect(&aspect, p, cert)) != APR_SUCCESS
        || (rv = acme_store_load(&data, &len, p, store, ACME_STORE_OCSP, name, aspect))
           != APR_SUCCESS) {
        return rv;
    }
    rv = acme_ocsp_answer_check(&a, p, (const unsigned char *)data, len, cert, issuer, now,
                                &why);
    if (rv == APR_SUCCESS && now - a->this_update <= keep) {
        *panswer = a;
        return APR_SUCCESS;
    }
    acme_log(ACME_LOG_INFO, rv, "ACME0382 ocsp[%s %s]: dropping the stored response: %s",
             name, aspect, why ? why : "older than MDStaplingKeepResponse");
    acme_store_remove(store, p, ACME_STORE_OCSP, name, aspect);
    return APR_ENOENT;
}
