/* tls-alpn-01 (RFC 8737): a TLS client (the CA) offering ALPN "acme-tls/1"
 * gets that protocol, and the handshake presents the challenge certificate
 * of the SNI name from CHALLENGES/<name>/tls-alpn-01.{cert,key}.pem instead
 * of the site's (an IP identifier comes as its "in-addr.arpa" or "ip6.arpa"
 * name, RFC 8738 section 6).
 * mod_ssl asks ssl_answer_challenge after the protocol switch; a switched
 * connection carries no HTTP and is closed after the handshake. The vhost's
 * `Protocols` must list acme-tls/1 for httpd to select it. */
#include <apr_strings.h>

#include <httpd.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>

#include "acme_layout.h"
#include "acme_names.h"
#include "acme_tlsalpn.h"
#include "mod_acme_serve.h"

APLOG_USE_MODULE(acme);

typedef struct {
    const char *protocol;   /* ACME_TLSALPN_PROTOCOL once switched */
} alpn_conn_t;

const char *acme_alpn_get(const conn_rec *c)
{
    alpn_conn_t *ctx = ap_get_module_config(c->conn_config, &acme_module);

    return ctx ? ctx->protocol : NULL;
}

int acme_alpn_propose(conn_rec *c, request_rec *r, server_rec *s,
                      const apr_array_header_t *offers, apr_array_header_t *proposals)
{
    (void)s;
    if (r || !offers || !ap_ssl_conn_is_ssl(c)
        || !ap_array_str_contains(offers, ACME_TLSALPN_PROTOCOL)) {
        return DECLINED;
    }
    APR_ARRAY_PUSH(proposals, const char *) = ACME_TLSALPN_PROTOCOL;
    return OK;
}

int acme_alpn_switch(conn_rec *c, request_rec *r, server_rec *s, const char *protocol)
{
    alpn_conn_t *ctx;

    (void)s;
    if (r || !ap_ssl_conn_is_ssl(c) || strcmp(protocol, ACME_TLSALPN_PROTOCOL) != 0) {
        return DECLINED;
    }
    ctx = apr_pcalloc(c->pool, sizeof(*ctx));
    ctx->protocol = ACME_TLSALPN_PROTOCOL;
    ap_set_module_config(c->conn_config, &acme_module, ctx);
    c->keepalive = AP_CONN_CLOSE;
    return OK;
}

int acme_alpn_answer_challenge(conn_rec *c, const char *server_name, const char **pcert_pem,
                               const char **pkey_pem)
{
    acme_store_t *store = acme_glue_store_get();
    const char *name, *cert, *key;
    apr_size_t len;
    apr_status_t rv;

    if (!server_name || !store || !acme_alpn_get(c)) {
        return DECLINED;
    }
    /* an IP identifier comes as its reverse-DNS name (RFC 8738 section 6) */
    if (acme_tlsalpn_sni_identifier(&name, c->pool, server_name) != APR_SUCCESS
        || !acme_config_md_for_name(acme_config_global_get(c->base_server), c->pool, name,
                                    &name)) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c, "ACME1250 tls-alpn-01: %s is not a "
                      "name of a managed domain", ap_escape_logitem(c->pool, server_name));
        return DECLINED;
    }
    rv = acme_store_load(&cert, &len, c->pool, store, ACME_STORE_CHALLENGES, name,
                         ACME_ASPECT_TLSALPN_CERT);
    if (rv == APR_SUCCESS) {
        rv = acme_store_load(&key, &len, c->pool, store, ACME_STORE_CHALLENGES, name,
                             ACME_ASPECT_TLSALPN_KEY);
    }
    if (rv != APR_SUCCESS) {
        ap_log_cerror(APLOG_MARK, APR_STATUS_IS_ENOENT(rv) ? APLOG_INFO : APLOG_ERR, rv, c,
                      "ACME1251 tls-alpn-01: no challenge certificate for %s", name);
        return DECLINED;
    }
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, "ACME1252 tls-alpn-01: answering the "
                  "challenge for %s", name);
    *pcert_pem = cert;
    *pkey_pem = key;
    return OK;
}
