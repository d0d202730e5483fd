/* OCSP (RFC 6960) for stapling: the request for a certificate, the exchange
 * with the responder named in the certificate's AIA, the checks of the
 * answer, when to refresh it, and where it lives in the store.
 *
 * A response is accepted only when it is a successful basic response, signed
 * by the certificate's issuer or by a responder the issuer delegated to (its
 * certificate carries the OCSP signing EKU and is signed by the issuer),
 * answers for exactly this certificate, and has sane times (thisUpdate not in
 * the future, nextUpdate not before thisUpdate). The nonce extension is not
 * used: CAs pre-sign their answers.
 *
 * Ownership: everything handed out is allocated from the pool passed in; the
 * X509 arguments are borrowed. Errors:
 *   APR_EINVAL        malformed input (not DER, not an OCSP response, no
 *                     basic response, unreadable times)
 *   APR_EMISMATCH     the signature or signer does not check out, or the
 *                     response has no answer for this certificate
 *   ACME_OCSP_ESTATUS the responder answered with an error status
 *                     (malformedRequest, tryLater, unauthorized, ...)
 *   ACME_OCSP_ESTALE  times not sane, or (on fetch) already past nextUpdate
 *   APR_ENOENT        no OCSP responder URL / no stored response
 * A `pwhy` argument, when not NULL, receives a short English reason (for
 * logs and status pages) whenever an error is returned. */
#ifndef ACME_OCSP_H
#define ACME_OCSP_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_time.h>
#include <openssl/x509.h>

#include "acme_config_value.h"
#include "acme_http.h"
#include "acme_store.h"

#define ACME_OCSP_ESTATUS (APR_OS_START_USERERR + 380)
#define ACME_OCSP_ESTALE  (APR_OS_START_USERERR + 381)

/* Clock skew tolerated between us and the responder. */
#define ACME_OCSP_SKEW (apr_time_from_sec(300))
/* Refresh interval for a response without nextUpdate. */
#define ACME_OCSP_NO_NEXT_REFRESH (apr_time_from_sec(3600))
/* Largest response we fetch, store or staple. */
#define ACME_OCSP_MAX_DER (16 * 1024)

typedef enum {
    ACME_OCSP_GOOD = 0,
    ACME_OCSP_REVOKED = 1,
    ACME_OCSP_UNKNOWN = 2
} acme_ocsp_status_e;

typedef struct {
    acme_ocsp_status_e status;
    apr_time_t this_update;
    apr_time_t next_update;         /* 0: the responder gave none */
    apr_time_t revoked_at;          /* ACME_OCSP_REVOKED only, else 0 */
    const unsigned char *der;       /* the whole OCSPResponse, as stapled */
    apr_size_t der_len;
} acme_ocsp_answer_t;

/* "good", "revoked" or "unknown". */
const char *acme_ocsp_status_name(acme_ocsp_status_e status);

/* The first http(s) OCSP URL of the certificate's Authority Information
 * Access extension. APR_ENOENT when it has none. */
apr_status_t acme_ocsp_responder_url(const char **purl, apr_pool_t *p, X509 *cert);

/* The DER OCSPRequest for `cert` (CertID with SHA-1, as responders expect). */
apr_status_t acme_ocsp_request_make(const unsigned char **pder, apr_size_t *plen,
                                    apr_pool_t *p, X509 *cert, X509 *issuer);

/* Checks a DER OCSPResponse for `cert` as described above and decodes it.
 * `now` judges thisUpdate (a future one, beyond ACME_OCSP_SKEW, is stale);
 * a response past its nextUpdate is still returned (see
 * acme_ocsp_answer_is_current), so that stored responses can be judged. */
apr_status_t acme_ocsp_answer_check(acme_ocsp_answer_t **panswer, apr_pool_t *p,
                                    const unsigned char *der, apr_size_t len, X509 *cert,
                                    X509 *issuer, apr_time_t now, const char **pwhy);

/* True when `now` lies before nextUpdate (plus the skew); without
 * nextUpdate, while the response is younger than `max_age`. */
int acme_ocsp_answer_is_current(const acme_ocsp_answer_t *answer, apr_time_t now,
                                apr_interval_time_t max_age);

/* POSTs the request for `cert` to `url` through `transport` and checks the
 * answer (HTTP 200 with a body, then acme_ocsp_answer_check). An answer
 * already past its nextUpdate is ACME_OCSP_ESTALE. Transport failures are
 * passed on (acme_http.h codes); another HTTP status is ACME_OCSP_ESTATUS. */
apr_status_t acme_ocsp_fetch(acme_ocsp_answer_t **panswer, apr_pool_t *p,
                             acme_http_transport_t *transport, const char *url, X509 *cert,
                             X509 *issuer, apr_time_t now, const char **pwhy);

/* When to fetch a fresh response: `window` (percent of thisUpdate..nextUpdate
 * or a duration) before nextUpdate. A duration window as long as the whole
 * validity falls back to 33%, so that a short-lived response is not fetched
 * over and over. Without nextUpdate: thisUpdate + ACME_OCSP_NO_NEXT_REFRESH. */
apr_time_t acme_ocsp_refresh_at(const acme_ocsp_answer_t *answer,
                                const acme_config_window_t *window);

/* The store aspect of a certificate's response, kept in group ACME_STORE_OCSP
 * under the domain's name: "ocsp.<key spec>.der" ("ocsp.rsa2048.der",
 * "ocsp.P-256.der"), one per key type as the certificates are, so that the
 * response of a renewed certificate replaces its predecessor's (which no
 * longer checks out and is dropped when loaded); "ocsp.<sha256 hex>.der" for
 * keys without a spec name. */
apr_status_t acme_ocsp_aspect(const char **paspect, apr_pool_t *p, X509 *cert);

/* Saves the answer's DER atomically (world-readable: OCSP answers are
 * public; only the owner may write). */
apr_status_t acme_ocsp_store_save(acme_store_t *store, apr_pool_t *p, const char *name,
                                  X509 *cert, const acme_ocsp_answer_t *answer);

/* Loads and re-checks the stored response for `cert`. One whose thisUpdate
 * is older than `keep` (MDStaplingKeepResponse), or that no longer checks
 * out, is removed and reported as APR_ENOENT. */
apr_status_t acme_ocsp_store_load(acme_ocsp_answer_t **panswer, apr_pool_t *p,
                                  acme_store_t *store, const char *name, X509 *cert,
                                  X509 *issuer, apr_time_t now, apr_interval_time_t keep);

#endif /* ACME_OCSP_H */
