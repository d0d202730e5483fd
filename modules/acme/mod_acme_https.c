/* MDRequireHttps: send http: visitors of a domain to https:, and with
 * "permanent" tell browsers to stay there (HSTS).
 *
 * Only for domains that serve a real certificate: redirecting to a fallback
 * certificate would lock visitors out of a site that works over http. The
 * http-01 path is never redirected (the CA must reach it over http, RFC
 * 8555 section 8.3). Redirects go to the public https port (443): behind
 * MDPortMap the local port is not what visitors use. */
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>

#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

#define CHALLENGE_PATH "/.well-known/acme-challenge/"
#define HSTS_HEADER "Strict-Transport-Security"
#define HSTS_VALUE "max-age=15768000"   /* half a year, as mod_md sends */

/* The domain of the request's host, if the vhost serves it; *phost is the
 * host's canonical name. */
static const acme_config_md_t *md_of_request(const char **phost, request_rec *r,
                                             const acme_config_srv_t *sc)
{
    const acme_config_md_t *md;
    int i;

    if (!(md = acme_config_md_for_name(sc->global, r->pool, r->hostname, phost))) {
        return NULL;
    }
    if (sc->md == md) {
        return md;
    }
    for (i = 0; sc->mds && i < sc->mds->nelts; ++i) {
        if (APR_ARRAY_IDX(sc->mds, i, const acme_config_md_t *) == md) {
            return md;
        }
    }
    return NULL;
}

/* To the canonical host: checked (LDH or IPv6), unlike what the client sent */
static int redirect(request_rec *r, const char *host, int permanent)
{
    const char *rest = apr_uri_unparse(r->pool, &r->parsed_uri, APR_URI_UNP_OMITSITEPART);
    int v6 = strchr(host, ':') != NULL;
    const char *location = apr_pstrcat(r->pool, "https://", v6 ? "[" : "", host,
                                       v6 ? "]" : "", rest && *rest ? rest : "/", NULL);

    apr_table_setn(r->headers_out, "Location", location);
    /* GET and HEAD take the old codes; others must keep their method */
    if (r->method_number == M_GET) {
        return permanent ? HTTP_MOVED_PERMANENTLY : HTTP_MOVED_TEMPORARILY;
    }
    return permanent ? HTTP_PERMANENT_REDIRECT : HTTP_TEMPORARY_REDIRECT;
}

int acme_https_require(request_rec *r)
{
    const char *path = r->parsed_uri.path;
    const acme_config_srv_t *sc = acme_config_srv_get(r->server);
    const acme_config_md_t *md;
    const char *host;
    int permanent;

    /* the common case, no MDRequireHttps anywhere, costs no host lookup */
    if (!sc || !sc->global->any_require_https || !path || strncmp(path, CHALLENGE_PATH, sizeof(CHALLENGE_PATH) - 1) == 0
        || !(md = md_of_request(&host, r, sc)) || md->props.require_https <= ACME_REQUIRE_HTTPS_OFF
        || !acme_served_has_cert(md)) {
        return DECLINED;
    }
    permanent = (md->props.require_https == ACME_REQUIRE_HTTPS_PERMANENT);
    if (!ap_ssl_conn_is_ssl(r->connection)) {
        return redirect(r, host, permanent);
    }
    /* err_headers_out: also on error pages and after internal redirects */
    if (permanent && !apr_table_get(r->headers_out, HSTS_HEADER)
        && !apr_table_get(r->err_headers_out, HSTS_HEADER)) {
        apr_table_setn(r->err_headers_out, HSTS_HEADER, HSTS_VALUE);
    }
    return DECLINED;
}
