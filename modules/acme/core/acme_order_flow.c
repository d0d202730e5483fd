/* Requests on orders, authorizations and challenges (acme_order.h): each
 * function sends one request (two for newOrder checks) and returns; waiting
 * is the caller's business, told by the poll functions. */
#include <string.h>

#include <apr_strings.h>

#include "acme_b64.h"
#include "acme_headers.h"
#include "acme_json.h"
#include "acme_log.h"
#include "acme_order.h"
#include "acme_san.h"

/* Smallest interval a poll asks for, whatever Retry-After says: a CA
 * answering "Retry-After: 0" forever must not make us spin. */
#define POLL_MIN_INTERVAL apr_time_from_sec(1)

/* POSTs `payload` (NULL: POST-as-GET) to `url` and parses the JSON answer. */
static apr_status_t post_json(json_t **pjson, acme_http_response_t **presp, apr_pool_t *p,
                              acme_client_t *c, const char *url, const json_t *payload,
                              const char *what, acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    apr_status_t rv;

    if ((rv = acme_client_post(&resp, p, c, url, payload, r))
        || (rv = acme_client_response_json(pjson, p, resp, what, r))) {
        return rv;
    }
    if (presp) {
        *presp = resp;
    }
    return APR_SUCCESS;
}

/* The identifiers payload; names are validated and normalized. */
static apr_status_t identifiers_json(json_t **pids, apr_pool_t *p,
                                     const apr_array_header_t *names, acme_result_t *r)
{
    apr_array_header_t *sans;
    json_t *ids;
    int i;

    if (names == NULL || names->nelts == 0 || names->nelts > ACME_ORDER_MAX_IDENTIFIERS
        || acme_san_parse_list(&sans, p, names, 1) != APR_SUCCESS) {
        return acme_result_fail(r, APR_EINVAL, "the names to order are empty, too many,"
                                " duplicated or invalid");
    }
    ids = acme_json_pool_adopt(p, json_array());
    for (i = 0; i < sans->nelts; ++i) {
        const acme_san_t *san = &APR_ARRAY_IDX(sans, i, acme_san_t);
        json_array_append_new(ids, json_pack("{s:s,s:s}", "type",
                                             san->type == ACME_SAN_IP ? "ip" : "dns",
                                             "value", san->value));
    }
    *pids = ids;
    return APR_SUCCESS;
}

/* The CA must order what we asked for: every requested identifier present. */
static apr_status_t check_identifiers(const acme_order_t *order, const json_t *ids,
                                      acme_result_t *r)
{
    size_t i;
    int j, found;

    for (i = 0; i < json_array_size(ids); ++i) {
        const char *want = json_string_value(json_object_get(json_array_get(ids, i), "value"));
        for (found = 0, j = 0; !found && j < order->identifiers->nelts; ++j) {
            found = !strcmp(APR_ARRAY_IDX(order->identifiers, j, acme_identifier_t).value,
                            want);
        }
        if (!found) {
            return acme_result_fail(r, APR_EINVAL, "order %s does not name %s", order->url,
                                    want);
        }
    }
    return APR_SUCCESS;
}

static apr_status_t check_profile(const acme_directory_t *dir, const char *profile,
                                  acme_result_t *r)
{
    apr_status_t rv;

    if (profile == NULL || acme_directory_get_profile(dir, profile) != NULL) {
        return APR_SUCCESS;
    }
    rv = acme_result_fail(r, APR_EINVAL, "the CA does not offer the profile '%s'%s",
                          profile, dir->profiles->nelts ? "" : " (it offers no profiles)");
    r->action = ACME_ACTION_FIX_CONFIG;
    return rv;
}

apr_status_t acme_order_create(acme_order_t **porder, apr_pool_t *p, acme_client_t *c,
                               const acme_order_params_t *params, acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    acme_order_t *order = NULL;
    json_t *payload, *ids = NULL, *json = NULL;
    const char *url = NULL;
    apr_status_t rv;

    if ((rv = identifiers_json(&ids, p, params->names, r))
        || (!acme_client_get_directory(c) && (rv = acme_client_load_directory(c, p, r)))
        || (rv = check_profile(acme_client_get_directory(c), params->profile, r))) {
        return rv;
    }
    payload = acme_json_pool_adopt(p, json_pack("{s:O}", "identifiers", ids));
    if (params->profile) {
        json_object_set_new(payload, "profile", json_string(params->profile));
    }
    if (params->replaces) {
        json_object_set_new(payload, "replaces", json_string(params->replaces));
    }
    if ((rv = acme_client_post(&resp, p, c, acme_client_get_directory(c)->new_order,
                               payload, r))
        || (rv = acme_client_response_location(&url, p, resp, "newOrder", r))
        || (rv = acme_client_response_json(&json, p, resp, "newOrder", r))
        || (rv = acme_order_from_json(&order, p, json, url, r))
        || (rv = check_identifiers(order, ids, r))) {
        return rv;
    }
    acme_log(ACME_LOG_INFO, 0, "ACME0570 acme[order=%s]: created, %s", url,
             acme_order_status_name(order->status));
    *porder = order;
    return APR_SUCCESS;
}

apr_status_t acme_order_fetch(acme_order_t **porder, apr_pool_t *p, acme_client_t *c,
                              const char *url, acme_result_t *r)
{
    json_t *json = NULL;
    apr_status_t rv;

    if ((rv = post_json(&json, NULL, p, c, url, NULL, "order", r)) != APR_SUCCESS) {
        return rv;
    }
    return acme_order_from_json(porder, p, json, url, r);
}

apr_status_t acme_authz_fetch(acme_authz_t **pauthz, apr_pool_t *p, acme_client_t *c,
                              const char *url, acme_result_t *r)
{
    json_t *json = NULL;
    apr_status_t rv;

    if ((rv = post_json(&json, NULL, p, c, url, NULL, "authorization", r)) != APR_SUCCESS) {
        return rv;
    }
    return acme_authz_from_json(pauthz, p, json, url, r);
}

/* When to poll again after `resp`: Retry-After, else the default interval;
 * never sooner than POLL_MIN_INTERVAL. */
static apr_time_t poll_next_at(apr_time_t retry_at, apr_time_t now)
{
    apr_time_t at = retry_at;

    if (at == 0) {
        at = now + ACME_ORDER_POLL_INTERVAL;
    }
    return at < now + POLL_MIN_INTERVAL ? now + POLL_MIN_INTERVAL : at;
}

apr_status_t acme_order_look(acme_order_t **porder, apr_time_t *pretry_at, apr_pool_t *p,
                             acme_client_t *c, const char *url, apr_time_t now,
                             acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    acme_order_t *order = NULL;
    json_t *json = NULL;
    apr_status_t rv;

    if ((rv = post_json(&json, &resp, p, c, url, NULL, "order", r))
        || (rv = acme_order_from_json(&order, p, json, url, r))) {
        return rv;
    }
    *porder = order;
    *pretry_at = 0;
    switch (order->status) {
    case ACME_ORDER_PENDING:
    case ACME_ORDER_PROCESSING:
        *pretry_at = acme_headers_retry_at(resp->headers, now);
        return APR_SUCCESS;
    case ACME_ORDER_INVALID:
        acme_log(ACME_LOG_NOTICE, ACME_EPROBLEM, "ACME0571 acme[order=%s]: invalid", url);
        if (order->error) {
            return acme_result_from_problem(r, order->error, 0, 0);
        }
        return acme_result_fail(r, ACME_EPROBLEM, "order %s is invalid", url);
    default:
        return APR_SUCCESS;
    }
}

apr_status_t acme_order_poll(acme_order_t **porder, apr_time_t *pnext_at, apr_pool_t *p,
                             acme_client_t *c, const char *url, apr_time_t now,
                             acme_result_t *r)
{
    apr_time_t retry_at = 0;
    apr_status_t rv = acme_order_look(porder, &retry_at, p, c, url, now, r);

    *pnext_at = 0;
    if (rv == APR_SUCCESS && ((*porder)->status == ACME_ORDER_PENDING
                              || (*porder)->status == ACME_ORDER_PROCESSING)) {
        *pnext_at = poll_next_at(retry_at, now);
    }
    return rv;
}

/* An invalid authorization: the problem of its failed challenge. */
static apr_status_t authz_failure(const acme_authz_t *az, acme_result_t *r)
{
    int i;

    acme_log(ACME_LOG_NOTICE, ACME_EPROBLEM, "ACME0572 acme[authz=%s]: %s for %s",
             az->url, acme_authz_status_name(az->status), az->identifier.value);
    for (i = 0; i < az->challenges->nelts; ++i) {
        const acme_challenge_t *ch = APR_ARRAY_IDX(az->challenges, i, const acme_challenge_t *);
        if (ch->error) {
            return acme_result_from_problem(r, ch->error, 0, 0);
        }
    }
    return acme_result_fail(r, ACME_EPROBLEM, "authorization for %s is %s",
                            az->identifier.value, acme_authz_status_name(az->status));
}

apr_status_t acme_authz_look(acme_authz_t **pauthz, apr_time_t *pretry_at, apr_pool_t *p,
                             acme_client_t *c, const char *url, apr_time_t now,
                             acme_result_t *r)
{
    acme_http_response_t *resp = NULL;
    acme_authz_t *az = NULL;
    json_t *json = NULL;
    apr_status_t rv;

    if ((rv = post_json(&json, &resp, p, c, url, NULL, "authorization", r))
        || (rv = acme_authz_from_json(&az, p, json, url, r))) {
        return rv;
    }
    *pauthz = az;
    *pretry_at = 0;
    if (az->status == ACME_AUTHZ_PENDING) {
        *pretry_at = acme_headers_retry_at(resp->headers, now);
        return APR_SUCCESS;
    }
    return az->status == ACME_AUTHZ_VALID ? APR_SUCCESS : authz_failure(az, r);
}

apr_status_t acme_authz_poll(acme_authz_t **pauthz, apr_time_t *pnext_at, apr_pool_t *p,
                             acme_client_t *c, const char *url, apr_time_t now,
                             acme_result_t *r)
{
    apr_time_t retry_at = 0;
    apr_status_t rv = acme_authz_look(pauthz, &retry_at, p, c, url, now, r);

    *pnext_at = 0;
    if (rv == APR_SUCCESS && (*pauthz)->status == ACME_AUTHZ_PENDING) {
        *pnext_at = poll_next_at(retry_at, now);
    }
    return rv;
}

apr_status_t acme_challenge_respond(acme_challenge_t **pchal, apr_pool_t *p, acme_client_t *c,
                                    const acme_challenge_t *chal, acme_result_t *r)
{
    json_t *json = NULL, *empty = acme_json_pool_adopt(p, json_object());
    apr_status_t rv;

    if ((rv = post_json(&json, NULL, p, c, chal->url, empty, "challenge", r)) != APR_SUCCESS) {
        return rv;
    }
    acme_log(ACME_LOG_DEBUG, 0, "ACME0573 acme[challenge=%s]: %s answered", chal->url,
             chal->type);
    return acme_challenge_from_json(pchal, p, json, r);
}

apr_status_t acme_authz_deactivate(acme_authz_t **pauthz, apr_pool_t *p, acme_client_t *c,
                                   const char *url, acme_result_t *r)
{
    json_t *json = NULL;
    json_t *payload = acme_json_pool_adopt(p, json_pack("{s:s}", "status", "deactivated"));
    apr_status_t rv;

    if ((rv = post_json(&json, NULL, p, c, url, payload, "authorization", r)) != APR_SUCCESS) {
        return rv;
    }
    return acme_authz_from_json(pauthz, p, json, url, r);
}

apr_status_t acme_order_finalize(acme_order_t **porder, apr_pool_t *p, acme_client_t *c,
                                 const acme_order_t *order, const unsigned char *csr_der,
                                 apr_size_t csr_len, acme_result_t *r)
{
    json_t *json = NULL, *payload;
    apr_status_t rv;

    if (order->status != ACME_ORDER_READY) {
        return acme_result_fail(r, APR_EINVAL, "order %s is %s, not ready to finalize",
                                order->url, acme_order_status_name(order->status));
    }
    payload = acme_json_pool_adopt(p, json_pack("{s:s}", "csr",
                                                acme_b64url_encode(p, csr_der, csr_len)));
    if ((rv = post_json(&json, NULL, p, c, order->finalize, payload, "finalize", r))
        != APR_SUCCESS) {
        return rv;
    }
    acme_log(ACME_LOG_INFO, 0, "ACME0574 acme[order=%s]: finalized", order->url);
    return acme_order_from_json(porder, p, json, order->url, r);
}
