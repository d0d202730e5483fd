/* Certificate download with alternate chains (RFC 8555 7.4.2). */
#include <string.h>

#include <apr_strings.h>
#include <openssl/x509.h>

#include "acme_headers.h"
#include "acme_json.h"
#include "acme_log.h"
#include "acme_order.h"

/* True when the CN of `name` is exactly `cn`. */
static int name_cn_is(const X509_NAME *name, const char *cn)
{
    int idx = -1;

    while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, s);
        int match = len >= 0 && (size_t)len == strlen(cn) && !memcmp(utf8, cn, (size_t)len);
        OPENSSL_free(utf8);
        if (match) {
            return 1;
        }
    }
    return 0;
}

int acme_order_chain_matches(const acme_cert_chain_t *chain, const char *issuer_cn)
{
    int i, n = acme_chain_count(chain);

    for (i = 1; i < n; ++i) {
        if (name_cn_is(X509_get_subject_name(acme_chain_get(chain, i)), issuer_cn)) {
            return 1;
        }
    }
    return n > 0 && name_cn_is(X509_get_issuer_name(acme_chain_get(chain, n - 1)), issuer_cn);
}

/* Fetches one chain; *palts (may be NULL) receives its alternate URLs. */
static apr_status_t fetch_chain(acme_cert_chain_t **pchain, apr_array_header_t **palts,
                                apr_pool_t *p, acme_client_t *c, const char *url,
                                acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    acme_cert_chain_t *chain = NULL;
    apr_status_t rv;
    int bad = 0;

    if ((rv = acme_client_post_as_get(&resp, p, c, url, r)) != APR_SUCCESS) {
        return rv;
    }
    if (!acme_http_response_is_type(resp, ACME_MEDIA_PEM_CHAIN)) {
        acme_log(ACME_LOG_DEBUG, 0, "ACME0580 certificate %s: unexpected Content-Type %s",
                 url, acme_http_response_header(resp, "Content-Type"));
    }
    if (acme_chain_from_pem(&chain, p, resp->body, resp->body_len) != APR_SUCCESS) {
        acme_result_fail(r, APR_EINVAL, "certificate %s: not a PEM certificate chain", url);
        /* cut off or garbled on the way: download it again later */
        r->action = ACME_ACTION_RETRY;
        return APR_EINVAL;
    }
    if (acme_chain_check_order(&bad, chain) != APR_SUCCESS) {
        return acme_result_fail(r, APR_EINVAL, "certificate %s: certificate %d of the chain"
                                " is not issued by the next one", url, bad);
    }
    if (palts) {
        acme_headers_links(palts, p, resp->headers, "alternate",
                           resp->effective_url ? resp->effective_url : url);
    }
    *pchain = chain;
    return APR_SUCCESS;
}

apr_status_t acme_order_download(acme_cert_chain_t **pchain, apr_pool_t *p, acme_client_t *c,
                                 const char *cert_url, const char *preferred_issuer,
                                 acme_result_t *r)
{
    acme_cert_chain_t *chain = NULL, *alt = NULL;
    apr_array_header_t *alts = NULL;
    const char *why;
    apr_status_t rv;
    int i;

    rv = fetch_chain(&chain, &alts, p, c, cert_url, r);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (preferred_issuer && !acme_order_chain_matches(chain, preferred_issuer)) {
        for (i = 0; i < alts->nelts && i < ACME_ORDER_MAX_ALTERNATES; ++i) {
            const char *url = APR_ARRAY_IDX(alts, i, const char *);
            if (acme_json_check_url(url, &why) != APR_SUCCESS) {
                acme_log(ACME_LOG_DEBUG, 0, "ACME0581 skipping alternate chain: %s", why);
                continue;
            }
            if (fetch_chain(&alt, NULL, p, c, url, r) != APR_SUCCESS) {
                /* a broken alternate must not cost us the certificate */
                acme_log(ACME_LOG_NOTICE, r->status, "ACME0584 skipping alternate chain:"
                         " %s", acme_result_render(r, p));
                acme_result_clear(r);
                continue;
            }
            if (acme_order_chain_matches(alt, preferred_issuer)) {
                acme_log(ACME_LOG_INFO, 0, "ACME0582 certificate %s: using alternate chain"
                         " %s issued by '%s'", cert_url, url, preferred_issuer);
                chain = alt;
                break;
            }
        }
        if (chain != alt) {
            acme_log(ACME_LOG_NOTICE, 0, "ACME0583 certificate %s: no chain issued by '%s',"
                     " using the default chain", cert_url, preferred_issuer);
        }
    }
    *pchain = chain;
    return APR_SUCCESS;
}
