/* Certificate revocation: see acme_revoke.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>
#include <openssl/x509.h>

#include "acme_b64.h"
#include "acme_cert.h"
#include "acme_json.h"
#include "acme_log.h"
#include "acme_revoke.h"

/* RFC 5280 5.3.1 CRLReason names, by code (7 is unused). */
static const char *const reason_names[] = {
    "unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
    "cessationOfOperation", "certificateHold", NULL, "removeFromCRL",
    "privilegeWithdrawn", "aACompromise"
};

int acme_revoke_reason_is_valid(int reason)
{
    return reason == ACME_REVOKE_NO_REASON
           || (reason >= 0 && reason <= 10 && reason_names[reason] != NULL);
}

apr_status_t acme_revoke_reason_parse(int *preason, const char *s)
{
    char *end;
    long v;
    int i;

    for (i = 0; i <= 10; ++i) {
        if (reason_names[i] && strcasecmp(s, reason_names[i]) == 0) {
            *preason = i;
            return APR_SUCCESS;
        }
    }
    v = strtol(s, &end, 10);
    if (!*s || *end || end - s > 2 || !acme_revoke_reason_is_valid((int)v) || v < 0) {
        return APR_EINVAL;
    }
    *preason = (int)v;
    return APR_SUCCESS;
}

static apr_status_t cert_der_b64(const char **pb64, apr_pool_t *p, X509 *cert)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);

    if (len <= 0) {
        return APR_EGENERAL;
    }
    *pb64 = acme_b64url_encode(p, der, (apr_size_t)len);
    OPENSSL_free(der);
    return APR_SUCCESS;
}

apr_status_t acme_revoke_cert(acme_client_t *c, apr_pool_t *p, X509 *cert, int reason,
                              const acme_pkey_t *cert_key, acme_result_t *r)
{
    const acme_directory_t *dir;
    acme_http_response_t *resp = NULL;
    const char *b64 = NULL, *serial = "?";
    json_t *payload;
    apr_status_t rv;

    if (!acme_revoke_reason_is_valid(reason)) {
        return acme_result_fail(r, APR_EINVAL, "invalid revocation reason %d", reason);
    }
    if (cert_key && acme_cert_check_key(cert, acme_pkey_get_evp(cert_key)) != APR_SUCCESS) {
        return acme_result_fail(r, APR_EINVAL, "the key given is not the certificate's key");
    }
    if (cert_der_b64(&b64, p, cert) != APR_SUCCESS) {
        return acme_result_fail(r, APR_EGENERAL, "cannot encode the certificate");
    }
    if (!acme_client_get_directory(c) && (rv = acme_client_load_directory(c, p, r))) {
        return rv;
    }
    dir = acme_client_get_directory(c);
    if (dir->revoke_cert == NULL) {
        return acme_result_fail(r, APR_ENOTIMPL, "the CA offers no revokeCert resource");
    }
    payload = acme_json_pool_adopt(p, json_pack("{s:s}", "certificate", b64));
    if (reason != ACME_REVOKE_NO_REASON) {
        json_object_set_new(payload, "reason", json_integer(reason));
    }
    rv = cert_key ? acme_client_post_jwk(&resp, p, c, dir->revoke_cert, payload, cert_key, r)
                  : acme_client_post(&resp, p, c, dir->revoke_cert, payload, r);
    if (rv == APR_SUCCESS) {
        acme_cert_get_serial_hex(&serial, p, cert);
        acme_log(ACME_LOG_NOTICE, 0, "ACME0630 certificate %s revoked (signed by %s)",
                 serial, cert_key ? "certificate key" : "account");
    }
    return rv;
}
