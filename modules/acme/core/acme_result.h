/* The outcome of an ACME operation: what was being done, what went wrong
 * (the CA's problem document or a local/transport error), when to retry, and
 * what the failure means (acme_problem_action_e, from the table in
 * acme_problem.c).
 *
 * Typical use in the client:
 *
 *     acme_result_t *r = acme_result_create(p);
 *     acme_result_set_activity(r, "creating order for %s", name);
 *     rv = acme_http_perform(&resp, p, transport, req);
 *     if (rv != APR_SUCCESS)
 *         return acme_result_fail(r, rv, "%s", acme_http_transport_error(transport));
 *     if (resp->status != 201)
 *         return acme_result_from_response(r, resp, apr_time_now());
 *     if (acme_result_is(r, "badNonce")) ...
 *     acme_log(..., "%s", acme_result_render(r, p));
 *
 * All strings live in the result's pool (r->pool); acme_result_copy() moves a
 * result into a longer-lived pool. Not thread-safe. */
#ifndef ACME_RESULT_H
#define ACME_RESULT_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "acme_http.h"
#include "acme_problem.h"

/* "The CA answered with an error": the result holds the HTTP status and, if
 * the CA sent one, its problem document. */
#define ACME_EPROBLEM (APR_OS_START_USERERR + 410)

typedef struct acme_result_t {
    apr_pool_t *pool;            /* owns everything below */
    apr_status_t status;         /* APR_SUCCESS when nothing failed */
    const char *activity;        /* "creating order for a.example", or NULL */
    int http_status;             /* 0 when no HTTP answer was involved */
    const char *problem_type;    /* full URN from the CA, or NULL */
    const char *detail;          /* human text (sanitized if from the CA) */
    apr_array_header_t *subproblems;  /* of acme_subproblem_t *, never NULL */
    apr_time_t retry_at;         /* absolute; 0 when nobody said */
    acme_problem_action_e action;     /* meaningful when status != APR_SUCCESS */
} acme_result_t;

/* A successful, empty result allocated in `p`. */
acme_result_t *acme_result_create(apr_pool_t *p);

/* Sets what is being done, for messages ("creating order for a.example"). */
void acme_result_set_activity(acme_result_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Back to success, keeping the activity. */
void acme_result_clear(acme_result_t *r);

/* Records a local or transport failure `rv` with a formatted detail (fmt
 * may be NULL). The action comes from acme_result_status_action(). Returns
 * `rv`, so callers can `return acme_result_fail(r, rv, ...)`. */
apr_status_t acme_result_fail(acme_result_t *r, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records an error answer of the CA: parses its problem document (when the
 * body is JSON; otherwise, or when malformed, the HTTP status stands alone),
 * takes retry_at from Retry-After (relative to `now`) and classifies.
 * Returns ACME_EPROBLEM. */
apr_status_t acme_result_from_response(acme_result_t *r, const acme_http_response_t *resp,
                                       apr_time_t now);

/* Records a problem that came inside another object (e.g. a challenge's
 * "error"): `http_status` may be 0, `retry_at` 0. Returns ACME_EPROBLEM. */
apr_status_t acme_result_from_problem(acme_result_t *r, const acme_problem_t *prob,
                                      int http_status, apr_time_t retry_at);

/* True when the result carries the ACME error `short_name` ("badNonce"). */
int acme_result_is(const acme_result_t *r, const char *short_name);

/* Action for a failure that is not a CA problem: timeouts, connection
 * failures, oversized or garbled answers retry; TLS failures need config
 * (trust roots, proxy); anything else (e.g. APR_EINVAL: our input or the
 * CA's data is invalid) gives up. */
acme_problem_action_e acme_result_status_action(apr_status_t rv);

/* Text for a status: acme_http_status_text() for transport codes, "the CA
 * reported a problem" for ACME_EPROBLEM, apr_strerror() otherwise. */
const char *acme_result_status_text(apr_pool_t *p, apr_status_t rv);

/* One log line, e.g.
 *   "creating order for a.example: urn:ietf:params:acme:error:rateLimited:
 *    too many certificates (HTTP 429, retry at 2025-01-02T03:04:05Z)
 *    [rejectedIdentifier dns:b.example: forbidden; ...]"
 * A success renders as "<activity>: ok". Allocated in `p`. */
const char *acme_result_render(const acme_result_t *r, apr_pool_t *p);

/* Deep copy into `p`. */
acme_result_t *acme_result_copy(apr_pool_t *p, const acme_result_t *src);

#endif /* ACME_RESULT_H */
