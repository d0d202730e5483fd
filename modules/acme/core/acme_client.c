/* The ACME client core: directory, nonces and signed requests. */
#include <string.h>

#include <apr_strings.h>

#include "acme_assert.h"
#include "acme_client.h"
#include "acme_keys.h"
#include "acme_json.h"
#include "acme_jws.h"
#include "acme_log.h"
#include "acme_nonce.h"

struct acme_client_t {
    apr_pool_t *pool;
    acme_http_transport_t *transport;
    const char *directory_url;
    apr_pool_t *dir_pool;         /* holds `dir`; replaced on every load */
    acme_directory_t *dir;
    acme_nonce_pool_t *nonces;
    const acme_pkey_t *key;
    char *kid;
};

apr_status_t acme_client_create(acme_client_t **pclient, apr_pool_t *p,
                                acme_http_transport_t *transport,
                                const char *directory_url, acme_result_t *r)
{
    acme_client_t *c;
    const char *why;
    apr_pool_t *cp;

    if (acme_json_check_url(directory_url, &why) != APR_SUCCESS) {
        return acme_result_fail(r, APR_EINVAL, "directory URL: %s", why);
    }
    apr_pool_create(&cp, p);
    apr_pool_tag(cp, "acme_client");
    c = apr_pcalloc(cp, sizeof(*c));
    c->pool = cp;
    c->transport = transport;
    c->directory_url = apr_pstrdup(cp, directory_url);
    c->nonces = acme_nonce_pool_create(cp);
    *pclient = c;
    return APR_SUCCESS;
}

const acme_directory_t *acme_client_get_directory(const acme_client_t *c)
{
    return c->dir;
}

void acme_client_set_account(acme_client_t *c, const acme_pkey_t *key, const char *kid)
{
    c->key = key;
    if (kid == NULL || c->kid == NULL || strcmp(kid, c->kid) != 0) {
        c->kid = kid ? apr_pstrdup(c->pool, kid) : NULL;
    }
}

const acme_pkey_t *acme_client_get_key(const acme_client_t *c)
{
    return c->key;
}

const char *acme_client_get_kid(const acme_client_t *c)
{
    return c->kid;
}

int acme_client_nonce_count(const acme_client_t *c)
{
    return acme_nonce_pool_count(c->nonces);
}

static int pool_nonce_cb(void *baton, const char *key, const char *value)
{
    acme_client_t *c = baton;

    if (!acme_nonce_pool_put(c->nonces, value)) {
        acme_log(ACME_LOG_DEBUG, APR_EINVAL, "ACME0500 ignoring invalid Replay-Nonce");
    }
    return 1;
}

/* Sends `req`; pools any Replay-Nonce of the answer. Transport failures are
 * recorded in r; the answer (any status) is returned as it is. */
static apr_status_t client_perform(acme_http_response_t **presp, apr_pool_t *p,
                                   acme_client_t *c, const acme_http_request_t *req,
                                   acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    apr_status_t rv;

    rv = acme_http_perform(&resp, p, c->transport, req);
    if (rv != APR_SUCCESS) {
        return acme_result_fail(r, rv, "%s %s: %s", acme_http_method_name(req->method),
                                req->url, acme_http_transport_error(c->transport));
    }
    apr_table_do(pool_nonce_cb, c, resp->headers, "Replay-Nonce", NULL);
    *presp = resp;
    return APR_SUCCESS;
}

static int is_2xx(const acme_http_response_t *resp)
{
    return resp->status >= 200 && resp->status < 300;
}

apr_status_t acme_client_get(acme_http_response_t **presp, apr_pool_t *p, acme_client_t *c,
                             const char *url, acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    apr_status_t rv;

    rv = client_perform(&resp, p, c, acme_http_request_make(p, ACME_HTTP_GET, url), r);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!is_2xx(resp)) {
        return acme_result_from_response(r, resp, apr_time_now());
    }
    *presp = resp;
    return APR_SUCCESS;
}

apr_status_t acme_client_load_directory(acme_client_t *c, apr_pool_t *p, acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    acme_directory_t *dir;
    apr_pool_t *dp;
    apr_status_t rv;

    rv = acme_client_get(&resp, p, c, c->directory_url, r);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_create(&dp, c->pool);
    rv = acme_directory_parse(&dir, dp, resp->body, resp->body_len, r);
    if (rv != APR_SUCCESS) {
        apr_pool_destroy(dp);
        return rv;
    }
    if (c->dir_pool) {
        apr_pool_destroy(c->dir_pool);
    }
    c->dir_pool = dp;
    c->dir = dir;
    acme_log(ACME_LOG_DEBUG, 0, "ACME0501 loaded directory %s%s", c->directory_url,
             dir->external_account_required ? " (external account binding required)" : "");
    return APR_SUCCESS;
}

static apr_status_t ensure_directory(acme_client_t *c, apr_pool_t *p, acme_result_t *r)
{
    return c->dir ? APR_SUCCESS : acme_client_load_directory(c, p, r);
}

/* A nonce from the pool, else a fresh one from newNonce (RFC 8555 7.2). */
static apr_status_t nonce_get(const char **pnonce, apr_pool_t *p, acme_client_t *c,
                              acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    const char *nonce;
    apr_status_t rv;

    nonce = acme_nonce_pool_take(c->nonces, p);
    if (nonce == NULL) {
        rv = client_perform(&resp, p, c,
                            acme_http_request_make(p, ACME_HTTP_HEAD, c->dir->new_nonce), r);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (!is_2xx(resp)) {
            return acme_result_from_response(r, resp, apr_time_now());
        }
        nonce = acme_nonce_pool_take(c->nonces, p);
        if (nonce == NULL) {
            return acme_result_fail(r, ACME_HTTP_EPROTOCOL,
                                    "newNonce %s: no valid Replay-Nonce in the answer",
                                    c->dir->new_nonce);
        }
    }
    *pnonce = nonce;
    return APR_SUCCESS;
}

/* Builds the request body: a JWS over `payload` with a fresh nonce. */
static apr_status_t sign_request(acme_http_request_t **preq, apr_pool_t *p, acme_client_t *c,
                                 const char *url, const json_t *payload,
                                 const acme_pkey_t *key, const char *kid, acme_result_t *r)
{
    acme_http_request_t *req = NULL;
    acme_jws_hdr_t hdr;
    json_t *jws;
    const char *why = NULL, *body;
    apr_status_t rv;

    hdr.url = url;
    hdr.kid = kid;
    rv = nonce_get(&hdr.nonce, p, c, r);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = acme_jws_sign(&jws, p, key, &hdr, payload, &why);
    if (rv == APR_SUCCESS) {
        acme_json_pool_adopt(p, jws);
        rv = acme_jws_serialize(&body, p, jws, &why);
    }
    if (rv != APR_SUCCESS) {
        rv = acme_result_fail(r, rv, "signing request to %s: %s", url, why);
        if (acme_keys_unreachable(rv)) {
            r->action = ACME_ACTION_RETRY;  /* the key holder is being restarted */
        }
        return rv;
    }
    req = acme_http_request_make(p, ACME_HTTP_POST, url);
    req->content_type = ACME_MEDIA_JOSE;
    req->body = body;
    req->body_len = strlen(body);
    *preq = req;
    return APR_SUCCESS;
}

/* The one place that POSTs: signs, sends, and on badNonce signs again with
 * the nonce that came with the error (bounded). */
static apr_status_t post_signed(acme_http_response_t **presp, apr_pool_t *p, acme_client_t *c,
                                const char *url, const json_t *payload,
                                const acme_pkey_t *key, const char *kid, acme_result_t *r)
{
    acme_http_request_t *req = NULL;
    acme_http_response_t *resp = NULL;
    apr_status_t rv;
    int attempt;

    ACME_ASSERT(key != NULL);
    rv = ensure_directory(c, p, r);
    for (attempt = 1; rv == APR_SUCCESS; ++attempt) {
        if ((rv = sign_request(&req, p, c, url, payload, key, kid, r)) != APR_SUCCESS
            || (rv = client_perform(&resp, p, c, req, r)) != APR_SUCCESS) {
            break;
        }
        if (is_2xx(resp)) {
            acme_result_clear(r);
            *presp = resp;
            return APR_SUCCESS;
        }
        rv = acme_result_from_response(r, resp, apr_time_now());
        if (!acme_result_is(r, "badNonce") || attempt >= ACME_CLIENT_NONCE_TRIES) {
            break;
        }
        acme_log(ACME_LOG_DEBUG, rv, "ACME0502 badNonce from %s, sending again (%d/%d)",
                 url, attempt + 1, ACME_CLIENT_NONCE_TRIES);
        rv = APR_SUCCESS;
    }
    return rv;
}

apr_status_t acme_client_post(acme_http_response_t **presp, apr_pool_t *p, acme_client_t *c,
                              const char *url, const json_t *payload, acme_result_t *r)
{
    if (c->key == NULL || c->kid == NULL) {
        return acme_result_fail(r, APR_EINVAL, "POST %s: no account (key and URL) set", url);
    }
    return post_signed(presp, p, c, url, payload, c->key, c->kid, r);
}

apr_status_t acme_client_post_as_get(acme_http_response_t **presp, apr_pool_t *p,
                                     acme_client_t *c, const char *url, acme_result_t *r)
{
    return acme_client_post(presp, p, c, url, NULL, r);
}

apr_status_t acme_client_post_jwk(acme_http_response_t **presp, apr_pool_t *p,
                                  acme_client_t *c, const char *url, const json_t *payload,
                                  const acme_pkey_t *key, acme_result_t *r)
{
    return post_signed(presp, p, c, url, payload, key, NULL, r);
}

apr_status_t acme_client_response_json(json_t **pjson, apr_pool_t *p,
                                       const acme_http_response_t *resp, const char *what,
                                       acme_result_t *r)
{
    const char *why = NULL;
    apr_status_t rv;

    rv = acme_json_parse(pjson, p, resp->body, resp->body_len, ACME_JSON_OBJECT, &why);
    if (rv != APR_SUCCESS) {
        acme_result_fail(r, rv, "%s: %s", what, why);
        /* a garbled or cut-off answer is a fault on the way: ask again later */
        r->action = ACME_ACTION_RETRY;
        return rv;
    }
    return APR_SUCCESS;
}

apr_status_t acme_client_response_location(const char **purl, apr_pool_t *p,
                                           const acme_http_response_t *resp,
                                           const char *what, acme_result_t *r)
{
    const char *url = acme_http_response_header(resp, "Location");
    const char *why;

    if (url == NULL) {
        return acme_result_fail(r, APR_EINVAL, "%s: the answer has no Location header", what);
    }
    if (acme_json_check_url(url, &why) != APR_SUCCESS) {
        return acme_result_fail(r, APR_EINVAL, "%s: Location: %s", what, why);
    }
    *purl = apr_pstrdup(p, url);
    return APR_SUCCESS;
}
