/* Result objects: failures with their context, see acme_result.h. */
#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "acme_headers.h"
#include "acme_log.h"
#include "acme_redis.h"
#include "acme_result.h"

acme_result_t *acme_result_create(apr_pool_t *p)
{
    acme_result_t *r = apr_pcalloc(p, sizeof(*r));

    r->pool = p;
    r->status = APR_SUCCESS;
    r->subproblems = apr_array_make(p, 0, sizeof(acme_subproblem_t *));
    r->action = ACME_ACTION_RETRY;
    return r;
}

void acme_result_set_activity(acme_result_t *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    r->activity = apr_pvsprintf(r->pool, fmt, ap);
    va_end(ap);
}

void acme_result_clear(acme_result_t *r)
{
    r->status = APR_SUCCESS;
    r->http_status = 0;
    r->problem_type = NULL;
    r->detail = NULL;
    r->subproblems = apr_array_make(r->pool, 0, sizeof(acme_subproblem_t *));
    r->retry_at = 0;
    r->action = ACME_ACTION_RETRY;
}

acme_problem_action_e acme_result_status_action(apr_status_t rv)
{
    switch (rv) {
    case ACME_HTTP_ETIMEOUT:
    case ACME_HTTP_ECONNECT:
    case ACME_HTTP_ETOOLARGE:
    case ACME_HTTP_EPROTOCOL:
    case APR_ENOSPC:            /* a full disk frees up; an oversized answer may not recur */
    /* the cluster's Redis away or restarting (LOADING) at a step that needs
     * it (an http-01 answer to share): it comes back */
    case ACME_REDIS_ECONNECT:
    case ACME_REDIS_EPROTOCOL:
    case ACME_REDIS_ESERVER:
        return ACME_ACTION_RETRY;
    case ACME_HTTP_ETLS:
        return ACME_ACTION_FIX_CONFIG;
    }
    return ACME_ACTION_GIVE_UP;
}

const char *acme_result_status_text(apr_pool_t *p, apr_status_t rv)
{
    char buf[256];
    const char *text = acme_http_status_text(rv);

    if (text != NULL) {
        return text;
    }
    if (rv == ACME_EPROBLEM) {
        return "the CA reported a problem";
    }
    return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
}

apr_status_t acme_result_fail(acme_result_t *r, apr_status_t rv, const char *fmt, ...)
{
    va_list ap;

    acme_result_clear(r);
    r->status = rv;
    r->action = acme_result_status_action(rv);
    if (fmt != NULL) {
        va_start(ap, fmt);
        r->detail = apr_pvsprintf(r->pool, fmt, ap);
        va_end(ap);
    }
    return rv;
}

static const char *pstrdup_null(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrdup(p, s) : NULL;
}

static apr_array_header_t *subproblems_copy(apr_pool_t *p, const apr_array_header_t *src)
{
    apr_array_header_t *dst = apr_array_make(p, src->nelts, sizeof(acme_subproblem_t *));
    int i;

    for (i = 0; i < src->nelts; ++i) {
        const acme_subproblem_t *s = APR_ARRAY_IDX(src, i, const acme_subproblem_t *);
        acme_subproblem_t *d = apr_pcalloc(p, sizeof(*d));
        d->type = pstrdup_null(p, s->type);
        d->detail = pstrdup_null(p, s->detail);
        d->id_type = pstrdup_null(p, s->id_type);
        d->id_value = pstrdup_null(p, s->id_value);
        APR_ARRAY_PUSH(dst, acme_subproblem_t *) = d;
    }
    return dst;
}

apr_status_t acme_result_from_problem(acme_result_t *r, const acme_problem_t *prob,
                                      int http_status, apr_time_t retry_at)
{
    const char *detail = prob->detail ? prob->detail : prob->title;
    int blank = strcmp(prob->type, "about:blank") == 0;

    acme_result_clear(r);
    r->status = ACME_EPROBLEM;
    r->http_status = http_status ? http_status : prob->status;
    r->problem_type = blank ? NULL : apr_pstrdup(r->pool, prob->type);
    if (detail == NULL) {
        detail = acme_problem_describe(prob->type);
    }
    r->detail = pstrdup_null(r->pool, detail);
    r->subproblems = subproblems_copy(r->pool, prob->subproblems);
    r->retry_at = retry_at;
    r->action = acme_problem_action(prob, r->http_status);
    return r->status;
}

/* A problem document under another Content-Type is no verdict of the CA
 * (replaced on the way?) and is not trusted for waits of hours; but a
 * badNonce in it is honoured: the only consequence is one resend with the
 * fresh nonce (RFC 8555 6.5), which a mislabelling proxy cannot make worse,
 * and counting it as a job error would delay the renewal for nothing. */
static acme_problem_t *bad_nonce_mislabelled(apr_pool_t *p, const acme_http_response_t *resp)
{
    acme_problem_t *prob = NULL;

    if (resp->status != 400
        || acme_problem_parse(&prob, p, resp->body, resp->body_len, NULL) != APR_SUCCESS
        || !acme_problem_type_is(prob->type, "badNonce")) {
        return NULL;
    }
    acme_log(ACME_LOG_DEBUG, 0, "ACME0432 HTTP 400: badNonce under Content-Type %s",
             apr_table_get(resp->headers, "Content-Type") ? apr_table_get(resp->headers,
             "Content-Type") : "(none)");
    return prob;
}

apr_status_t acme_result_from_response(acme_result_t *r, const acme_http_response_t *resp,
                                       apr_time_t now)
{
    acme_problem_t *prob = NULL;
    const char *why = NULL;
    apr_time_t retry_at = acme_headers_retry_at(resp->headers, now);

    if (resp->body_len > 0 && !acme_http_response_is_type(resp, ACME_MEDIA_PROBLEM)
        && !acme_http_response_is_type(resp, ACME_MEDIA_JSON)) {
        prob = bad_nonce_mislabelled(r->pool, resp);
    }
    else if (resp->body_len > 0) {
        if (acme_problem_parse(&prob, r->pool, resp->body, resp->body_len, &why)
            != APR_SUCCESS) {
            acme_log(ACME_LOG_DEBUG, APR_EINVAL, "ACME0431 HTTP %d: unusable problem"
                     " document: %s", resp->status, why);
            prob = NULL;
        }
        else if (strcmp(prob->type, "about:blank") == 0 && prob->detail == NULL
                 && prob->title == NULL) {
            prob = NULL;  /* some other JSON: not a problem document */
        }
    }
    if (prob != NULL) {
        return acme_result_from_problem(r, prob, resp->status, retry_at);
    }
    acme_result_clear(r);
    r->status = ACME_EPROBLEM;
    r->http_status = resp->status;
    r->detail = why ? apr_psprintf(r->pool, "malformed problem document (%s)", why)
                    : "no problem document in the answer";
    r->retry_at = retry_at;
    /* an ACME server explains its errors (RFC 8555 6.7): an error answer with
     * no problem document, or one cut off or garbled on the way (a proxy, a
     * load balancer), carries no verdict of the CA, so ask again later with
     * backoff rather than give up for hours */
    r->action = ACME_ACTION_RETRY;
    return r->status;
}

int acme_result_is(const acme_result_t *r, const char *short_name)
{
    return r->status == ACME_EPROBLEM && acme_problem_type_is(r->problem_type, short_name);
}

static const char *time_iso(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "[rejectedIdentifier dns:b.example: forbidden; ...]" */
static const char *subproblems_render(apr_pool_t *p, const apr_array_header_t *subs)
{
    apr_array_header_t *parts = apr_array_make(p, 2 * subs->nelts + 2, sizeof(const char *));
    int i;

    APR_ARRAY_PUSH(parts, const char *) = " [";
    for (i = 0; i < subs->nelts; ++i) {
        const acme_subproblem_t *s = APR_ARRAY_IDX(subs, i, const acme_subproblem_t *);
        const char *name = acme_problem_short_name(s->type);
        if (i > 0) {
            APR_ARRAY_PUSH(parts, const char *) = "; ";
        }
        APR_ARRAY_PUSH(parts, const char *) = apr_pstrcat(p,
            name ? name : (s->type ? s->type : "problem"),
            s->id_value ? " " : "", s->id_value ? (s->id_type ? s->id_type : "?") : "",
            s->id_value ? ":" : "", s->id_value ? s->id_value : "",
            s->detail ? ": " : "", s->detail ? s->detail : "", NULL);
    }
    APR_ARRAY_PUSH(parts, const char *) = "]";
    return apr_array_pstrcat(p, parts, 0);
}

const char *acme_result_render(const acme_result_t *r, apr_pool_t *p)
{
    const char *prefix = r->activity ? apr_pstrcat(p, r->activity, ": ", NULL) : "";
    const char *what, *paren = "";

    if (r->status == APR_SUCCESS) {
        return apr_pstrcat(p, prefix, "ok", NULL);
    }
    what = r->problem_type ? r->problem_type
         : (r->status == ACME_EPROBLEM ? NULL : acme_result_status_text(p, r->status));
    if (r->http_status && r->retry_at) {
        paren = apr_psprintf(p, " (HTTP %d, retry at %s)", r->http_status,
                             time_iso(p, r->retry_at));
    }
    else if (r->http_status) {
        paren = apr_psprintf(p, " (HTTP %d)", r->http_status);
    }
    else if (r->retry_at) {
        paren = apr_psprintf(p, " (retry at %s)", time_iso(p, r->retry_at));
    }
    return apr_pstrcat(p, prefix, what ? what : "", what && r->detail ? ": " : "",
                       r->detail ? r->detail : "", paren,
                       r->subproblems->nelts ? subproblems_render(p, r->subproblems) : "",
                       NULL);
}

acme_result_t *acme_result_copy(apr_pool_t *p, const acme_result_t *src)
{
    acme_result_t *r = apr_pmemdup(p, src, sizeof(*src));

    r->pool = p;
    r->activity = pstrdup_null(p, src->activity);
    r->problem_type = pstrdup_null(p, src->problem_type);
    r->detail = pstrdup_null(p, src->detail);
    r->subproblems = subproblems_copy(p, src->subproblems);
    return r;
}
