/* The http-01 responder (RFC 8555 section 8.3): GET
 * /.well-known/acme-challenge/<token> on a host name of a managed domain is
 * answered from CHALLENGES/<host>/http-01.<token>, in post_read_request, so
 * that no access control or rewrite of the site can get in the way.
 *
 * Requests for other hosts pass through untouched. For a managed host the
 * token is checked against its alphabet before the store is asked, so
 * random probes cost no I/O and no log lines. A domain that mod_acme does
 * not renew (static files, MDRenewMode manual) lets unknown tokens pass
 * through, so another ACME client can answer them from the document root. */
#include <apr_strings.h>
#include <apr_buckets.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "acme_keyauth.h"
#include "acme_layout.h"
#include "acme_names.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

#define HTTP01_PREFIX "/.well-known/acme-challenge/"

static int http01_send(request_rec *r, const char *body, apr_size_t len)
{
    apr_bucket_brigade *bb;
    apr_status_t rv;

    r->status = HTTP_OK;
    ap_set_content_type(r, "text/plain");
    ap_set_content_length(r, (apr_off_t)len);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    if (!r->header_only) {
        apr_brigade_write(bb, NULL, NULL, body, len);
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(r->connection->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    apr_brigade_cleanup(bb);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, "ACME1241 http-01: sending the answer "
                      "failed (client gone?)");
    }
    return DONE;
}

int acme_challenge_http01(request_rec *r)
{
    const char *path = r->parsed_uri.path, *token, *host, *body;
    acme_store_t *store = acme_glue_store_get();
    const acme_config_md_t *md;
    apr_size_t len;
    apr_status_t rv;

    /* the canonical host: an IPv6 identifier's Host may be spelt in any of
     * its forms, the domain and the store know the canonical one */
    if (!path || strncmp(path, HTTP01_PREFIX, sizeof(HTTP01_PREFIX) - 1) != 0 || !store
        || !(md = acme_config_md_for_name(acme_config_global_get(r->server), r->pool,
                                          r->hostname, &host))) {
        return DECLINED;
    }
    token = path + sizeof(HTTP01_PREFIX) - 1;
    if (!acme_keyauth_token_is_valid(token) || acme_names_check_token(token) != APR_SUCCESS) {
        return md->driven ? HTTP_NOT_FOUND : DECLINED;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    rv = acme_store_load(&body, &len, r->pool, store, ACME_STORE_CHALLENGES, host,
                         acme_layout_http01(r->pool, token));
    if (APR_STATUS_IS_ENOENT(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "ACME1242 http-01: no challenge for "
                      "%s with token %s", host, token);
        return md->driven ? HTTP_NOT_FOUND : DECLINED;
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "ACME1243 http-01: cannot read the "
                      "challenge for %s from the store", host);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ACME1240 http-01: answered the challenge "
                  "for %s", host);
    return http01_send(r, body, len);
}
