/* The transport interface and the checks around every exchange, see
 * acme_http.h. Implementations only move bytes; what is common to all of
 * them (URL check, response invariants, logging) happens here once. */
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "config.h"

#include "acme_assert.h"
#include "acme_headers.h"
#include "acme_http.h"
#include "acme_json.h"
#include "acme_log.h"

struct acme_http_transport_t {
    apr_pool_t *pool;
    const acme_http_transport_vtable_t *vtable;
    void *baton;
    int destroyed;
    char error[512];
};

const char *acme_http_user_agent(void)
{
    return "mod_acme/" PACKAGE_VERSION;
}

void acme_http_options_init(acme_http_options_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->connect_timeout = apr_time_from_sec(10);
    opts->timeout = apr_time_from_sec(60);
    opts->low_speed_limit = 10;
    opts->low_speed_time = apr_time_from_sec(30);
    opts->max_body = ACME_HTTP_MAX_BODY_DEFAULT;
    opts->max_redirects = 0;
}

static apr_status_t transport_cleanup(void *data)
{
    acme_http_transport_t *t = data;

    if (!t->destroyed) {
        t->destroyed = 1;
        if (t->vtable->destroy) {
            t->vtable->destroy(t->baton);
        }
    }
    return APR_SUCCESS;
}

void acme_http_transport_create(acme_http_transport_t **ptransport, apr_pool_t *p,
                                const acme_http_transport_vtable_t *vtable, void *baton)
{
    acme_http_transport_t *t;

    ACME_ASSERT(vtable != NULL && vtable->perform != NULL);
    t = apr_pcalloc(p, sizeof(*t));
    t->pool = p;
    t->vtable = vtable;
    t->baton = baton;
    apr_pool_cleanup_register(p, t, transport_cleanup, apr_pool_cleanup_null);
    *ptransport = t;
}

void acme_http_transport_destroy(acme_http_transport_t *transport)
{
    apr_pool_cleanup_run(transport->pool, transport, transport_cleanup);
}

const char *acme_http_transport_error(const acme_http_transport_t *transport)
{
    return transport->error;
}

acme_http_request_t *acme_http_request_make(apr_pool_t *p, acme_http_method_e method,
                                            const char *url)
{
    acme_http_request_t *req = apr_pcalloc(p, sizeof(*req));

    req->method = method;
    req->url = url;
    req->headers = apr_table_make(p, 4);
    return req;
}

const char *acme_http_method_name(acme_http_method_e method)
{
    switch (method) {
    case ACME_HTTP_GET:  return "GET";
    case ACME_HTTP_HEAD: return "HEAD";
    case ACME_HTTP_POST: return "POST";
    }
    return "?";
}

const char *acme_http_status_text(apr_status_t rv)
{
    switch (rv) {
    case ACME_HTTP_ETIMEOUT:  return "timed out";
    case ACME_HTTP_ECONNECT:  return "connection failed";
    case ACME_HTTP_ETLS:      return "TLS handshake or certificate verification failed";
    case ACME_HTTP_ETOOLARGE: return "response too large";
    case ACME_HTTP_EPROTOCOL: return "invalid HTTP response";
    }
    return NULL;
}

static void transport_set_error(acme_http_transport_t *t, const char *msg)
{
    snprintf(t->error, sizeof(t->error), "%s", msg ? msg : "");
}

/* A transport is code of ours, but a fake or a future backend could hand
 * back nonsense; the client must be able to rely on these invariants. */
static const char *response_check(const acme_http_response_t *resp)
{
    if (resp == NULL) {
        return "transport returned no response";
    }
    if (resp->status < 100 || resp->status > 599) {
        return "HTTP status outside 100..599";
    }
    if (resp->headers == NULL) {
        return "response without header table";
    }
    if (resp->body == NULL && resp->body_len > 0) {
        return "response body length without body";
    }
    return NULL;
}

static void response_log(const acme_http_request_t *req, const acme_http_response_t *resp)
{
    acme_log(ACME_LOG_DEBUG, APR_SUCCESS, "ACME0402 %s %s: HTTP %d, %" APR_SIZE_T_FMT
             " bytes of %s", acme_http_method_name(req->method), req->url, resp->status,
             resp->body_len, acme_http_response_header(resp, "Content-Type")
             ? acme_http_response_header(resp, "Content-Type") : "no type");
    if (resp->body_len > 0 && acme_log_is_level(ACME_LOG_TRACE)) {
        acme_log(ACME_LOG_TRACE, APR_SUCCESS, "ACME0403 response body: %.*s",
                 (int)(resp->body_len > 3000 ? 3000 : resp->body_len), resp->body);
    }
}

apr_status_t acme_http_perform(acme_http_response_t **presp, apr_pool_t *p,
                               acme_http_transport_t *transport,
                               const acme_http_request_t *req)
{
    acme_http_response_t *resp = NULL;
    const char *why = NULL;
    apr_status_t rv;

    ACME_ASSERT(transport != NULL && !transport->destroyed && req != NULL);
    ACME_ASSERT(req->body != NULL || req->body_len == 0);
    *presp = NULL;
    transport->error[0] = '\0';
    rv = acme_json_check_url(req->url, &why);
    if (rv != APR_SUCCESS) {
        transport_set_error(transport, apr_psprintf(p, "invalid request URL: %s", why));
        acme_log(ACME_LOG_ERR, rv, "ACME0404 %s", transport->error);
        return rv;
    }
    acme_log(ACME_LOG_DEBUG, APR_SUCCESS, "ACME0401 %s %s (%" APR_SIZE_T_FMT " bytes)",
             acme_http_method_name(req->method), req->url, req->body_len);
    rv = transport->vtable->perform(&resp, p, transport->baton, req, &why);
    if (rv == APR_SUCCESS && (why = response_check(resp)) != NULL) {
        rv = ACME_HTTP_EPROTOCOL;
    }
    if (rv != APR_SUCCESS) {
        transport_set_error(transport, why ? why : acme_http_status_text(rv));
        acme_log(ACME_LOG_INFO, rv, "ACME0405 %s %s failed: %s",
                 acme_http_method_name(req->method), req->url, transport->error);
        return rv;
    }
    response_log(req, resp);
    *presp = resp;
    return APR_SUCCESS;
}

const char *acme_http_response_header(const acme_http_response_t *resp, const char *name)
{
    return apr_table_get(resp->headers, name);
}

int acme_http_response_is_type(const acme_http_response_t *resp, const char *media_type)
{
    return acme_headers_media_type_is(acme_http_response_header(resp, "Content-Type"),
                                      media_type);
}
